/**
 * A raw TCP server for HTTP client tests: it splits what it receives into requests (GETs, no
 * body) and lets the test answer with any bytes at all, including broken and hostile ones.
 */
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";

export interface RawRequest {
  /** The request head, CRLF-separated, without the final empty line. */
  head: string;
  path: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  socket: Socket;
  /** Which connection (0-based, in accept order). */
  conn: number;
  /** Which request on that connection (0-based). */
  n: number;
}

export interface RawServer {
  url: string;
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  readonly requests: RawRequest[];
  /** Connections closed so far (by either side). */
  readonly closed: number;
  close(): Promise<void>;
}

/** Start a server on 127.0.0.1 calling `onRequest` for each request received. */
export async function rawServer(onRequest: (r: RawRequest) => void): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const requests: RawRequest[] = [];
  let connections = 0;
  let closed = 0;
  const server: Server = createServer((socket) => {
    const conn = connections++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => {
      sockets.delete(socket);
      closed++;
    });
    let pending = "";
    let n = 0;
    socket.on("data", (d: Buffer) => {
      pending += d.toString("latin1");
      for (let end = pending.indexOf("\r\n\r\n"); end >= 0; end = pending.indexOf("\r\n\r\n")) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        const [line, ...fields] = head.split("\r\n");
        const headers: Record<string, string> = {};
        for (const f of fields) {
          const c = f.indexOf(":");
          headers[f.slice(0, c).toLowerCase()] = f.slice(c + 1).trim();
        }
        const r: RawRequest = { head, path: line!.split(" ")[1]!, headers, socket, conn, n: n++ };
        requests.push(r);
        onRequest(r);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get connections() {
      return connections;
    },
    get closed() {
      return closed;
    },
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A complete response with a Content-Length body. */
export function reply(body: string, status = "200 OK", extra = ""): string {
  return `HTTP/1.1 ${status}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

/** Resolve after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `cond` until true (at most `ms`). */
export async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await sleep(5);
  }
}
