// The HTTP server's shutdown deadline comes from --graceful-shutdown-timeout,
// a user's flag: beyond Node's timer limit (about 24.8 days) it must still
// wait for in-flight requests, not cut them after 1 ms. Real sockets on
// 127.0.0.1, real timers.
import { describe, expect, it } from "vitest";
import { HttpServer, sendText } from "../../../src/runtime/http-server.ts";
import { createLogger } from "../../../src/runtime/log.ts";

const THIRTY_DAYS_MS = 30 * 86_400_000;

describe("Given the HTTP server with a request in flight", () => {
  it("When it is stopped with a deadline of 30 days, then the request still completes and the server stops after it", async () => {
    const server = new HttpServer({
      bindAddress: { host: "127.0.0.1", port: 0 },
      isReady: () => true,
      logger: createLogger({ level: "silent" }),
      readyFile: "",
    });
    let answer: (() => void) | undefined;
    const received = new Promise<void>((resolve) => {
      server.mount("/slow", (_req, res) => {
        answer = () => sendText(res, 200, "done\n");
        resolve();
      });
    });
    await server.start();
    const response = fetch(`http://127.0.0.1:${server.port()}/slow`).then(
      async (r) => `${r.status} ${await r.text()}`,
      (err: unknown) => `failed: ${String(err)}`,
    );
    await received;
    let stopped = false;
    const stopping = server.stop(THIRTY_DAYS_MS).then(() => (stopped = true));

    await new Promise((r) => setTimeout(r, 100));
    expect(stopped).toBe(false);
    answer!();

    expect(await response).toBe("200 done\n");
    await stopping;
    expect(stopped).toBe(true);
  });
});
