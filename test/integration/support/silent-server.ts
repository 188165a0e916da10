// A TCP server that accepts connections and never answers: a client of it
// (a Redis client, say) waits until its own timeout, so a run against it
// stays active as long as the test needs.
import { createServer, type Socket } from "node:net";

export interface SilentServer {
  port: number;
  /** Drops the open connections and stops listening. */
  close(): void;
}

/** Listens on 127.0.0.1, on a free port. */
export async function startSilentServer(): Promise<SilentServer> {
  const sockets: Socket[] = [];
  const server = createServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
