/**
 * https: in the pull's HTTP/1.1 client and HttpFetcher, against a node:https server with a
 * self-signed certificate made here with the openssl CLI: refused by default, accepted when it is
 * the trusted CA (`tls-ca-path`) or when verification is off (`tls-permissive`); SNI carries the
 * host name (never an address); client certificates (`tls-client-cert-path`/`-key-path`).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isArborError } from "../../../src/errors.js";
import { HttpFetcher } from "../../../src/pull/fetcher-http.js";
import { Http1Client, type HttpResponse } from "../../../src/pull/http1-client.js";

let dir: string;
let server: Server;
let port: number;
let connections = 0;
const servernames: Array<string | false> = [];
const clientCerts: boolean[] = [];
let cert: Buffer;
let clientCert: Buffer;
let clientKey: Buffer;

/** A self-signed certificate and key for `cn`, with these subjectAltNames. */
function selfSigned(name: string, cn: string, san: string): void {
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      join(dir, `${name}.key`),
      "-out",
      join(dir, `${name}.crt`),
      "-days",
      "2",
      "-subj",
      `/CN=${cn}`,
      "-addext",
      `subjectAltName=${san}`,
    ],
    { stdio: "ignore" },
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "arbor-tls-"));
  selfSigned("server", "localhost", "DNS:localhost,IP:127.0.0.1");
  selfSigned("client", "arbor-client", "DNS:arbor-client");
  cert = readFileSync(join(dir, "server.crt"));
  clientCert = readFileSync(join(dir, "client.crt"));
  clientKey = readFileSync(join(dir, "client.key"));
  server = createServer(
    {
      key: readFileSync(join(dir, "server.key")),
      cert,
      ca: clientCert,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const s = req.socket as TLSSocket;
      clientCerts.push(s.authorized);
      res.end(`secure ${req.url}`);
    },
  );
  server.on("secureConnection", (s: TLSSocket) => {
    connections++;
    servernames.push(s.servername ?? false);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(null));
  rmSync(dir, { recursive: true, force: true });
});

async function text(res: HttpResponse): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of res.body) parts.push(c);
  return Buffer.concat(parts).toString();
}

describe("Http1Client over TLS", () => {
  it("refuses a self-signed certificate by default", async () => {
    const c = new Http1Client();
    try {
      const e = await c.request(`https://127.0.0.1:${port}/x`).then(
        () => null,
        (err: Error & { code?: string }) => err,
      );
      expect(e).not.toBeNull();
      expect(e!.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
    } finally {
      await c.close();
    }
  });

  it("accepts it as the trusted CA, reuses the connection, and sends no SNI for an address", async () => {
    const c = new Http1Client({ tls: { ca: cert } });
    const before = connections;
    const n = servernames.length;
    try {
      expect(await text(await c.request(`https://127.0.0.1:${port}/a`))).toBe("secure /a");
      expect(await text(await c.request(`https://127.0.0.1:${port}/b`))).toBe("secure /b");
      expect(connections - before).toBe(1);
      expect(servernames[n]).toBe(false);
    } finally {
      await c.close();
    }
  });

  it("sends the host name as SNI", async () => {
    const c = new Http1Client({ tls: { ca: cert } });
    const n = servernames.length;
    try {
      expect(await text(await c.request(`https://localhost:${port}/c`))).toBe("secure /c");
      expect(servernames[n]).toBe("localhost");
    } finally {
      await c.close();
    }
  });

  it("accepts anything with rejectUnauthorized: false", async () => {
    const c = new Http1Client({ tls: { rejectUnauthorized: false } });
    try {
      expect(await text(await c.request(`https://127.0.0.1:${port}/d`))).toBe("secure /d");
    } finally {
      await c.close();
    }
  });

  it("presents a client certificate when given one", async () => {
    const c = new Http1Client({ tls: { ca: cert, cert: clientCert, key: clientKey } });
    const n = clientCerts.length;
    try {
      await text(await c.request(`https://127.0.0.1:${port}/e`));
      expect(clientCerts[n]).toBe(true);
    } finally {
      await c.close();
    }
  });
});

describe("HttpFetcher over TLS", () => {
  it("tls-ca-path and tls-permissive are honoured; by default the certificate is refused", async () => {
    const url = `https://127.0.0.1:${port}/repo/`;
    const refused = new HttpFetcher({ url, retry: { retries: 0 } });
    try {
      const e = await refused.get("url", "config").then(
        () => null,
        (err: unknown) => err,
      );
      expect(isArborError(e, "NETWORK"), String(e)).toBe(true);
      expect((e as Error).message).toMatch(
        /Cannot fetch https:\/\/127\.0\.0\.1:\d+\/repo\/config: .*certificate/,
      );
    } finally {
      await refused.close();
    }
    for (const o of [{ tlsCaPath: join(dir, "server.crt") }, { tlsPermissive: true }]) {
      const f = new HttpFetcher({ url, retry: { retries: 0 }, ...o });
      try {
        expect(Buffer.from((await f.get("url", "config"))!.data).toString()).toBe("secure /repo/config");
      } finally {
        await f.close();
      }
    }
  });
});
