/**
 * A guard against an upstream undici bug: its HTTP/1 parser can throw `assert(!this.paused)`
 * (client-h1, `Parser.finish`) from a socket 'end'/'close' listener when a server closes the
 * connection while a response body is paused by backpressure. The throw happens in an event
 * listener, so it is an *uncaught exception*: without this guard it kills the process mid-pull.
 *
 * While at least one fetcher is registered, a process 'uncaughtException' listener recognises
 * exactly that assertion and asks every registered fetcher to drop its connections (each replaces
 * its undici dispatcher and destroys the old one, so the requests caught in the broken connection
 * fail with a transient error and are retried). Any other uncaught exception is left to the other
 * listeners or, when this guard is the only one, rethrown so Node's default handling (message,
 * exit code 1) applies unchanged.
 */

/** Something that can abandon its connections and retry on fresh ones. */
export interface ConnectionResettable {
  resetConnections(cause: Error): void;
}

const registered = new Set<ConnectionResettable>();

/** True for undici's `assert(!this.paused)` thrown from its HTTP/1 client. */
export function isUndiciPausedAssertion(e: unknown): e is Error {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  return (
    (code === "ERR_ASSERTION" || e.name === "AssertionError") &&
    /this\.paused/.test(e.message) &&
    /client-h1/.test(e.stack ?? "")
  );
}

function onUncaught(e: unknown): void {
  if (isUndiciPausedAssertion(e)) {
    for (const f of registered) f.resetConnections(e);
    return;
  }
  if (process.listenerCount("uncaughtException") === 1) {
    // we are the only listener: restore Node's default handling for everything else
    process.removeListener("uncaughtException", onUncaught);
    process.nextTick(() => {
      throw e;
    });
  }
}

/** Start guarding `f` (installs the process listener on first use). */
export function guardConnections(f: ConnectionResettable): void {
  if (registered.size === 0 && !process.listeners("uncaughtException").includes(onUncaught))
    process.on("uncaughtException", onUncaught);
  registered.add(f);
}

/** Stop guarding `f` (removes the listener once no fetcher is left). */
export function unguardConnections(f: ConnectionResettable): void {
  registered.delete(f);
  if (registered.size === 0) process.removeListener("uncaughtException", onUncaught);
}
