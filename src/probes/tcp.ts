// TCP probe: open a connection, measure the connect latency, close it.
import { Socket } from "node:net";
import type { Probe, TcpProbeTarget } from "./types.ts";
import { errorMessage } from "../lib/errors.ts";
import { abortMessage, failed, metric, stopwatch } from "./util.ts";

function connect(target: TcpProbeTarget, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = new Socket();
    const onAbort = (): void => {
      socket.destroy();
      reject(new Error("aborted"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => {
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve();
    });
    socket.once("error", (err) => {
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      reject(err);
    });
    socket.connect({ host: target.host, port: target.port });
  });
}

export const tcpProbe: Probe<TcpProbeTarget> = async (target, ctx) => {
  const elapsed = stopwatch();
  const where = `${target.host}:${target.port}`;
  try {
    await connect(target, ctx.signal);
    const ms = elapsed();
    return {
      ok: true,
      latencyMs: ms,
      message: `Connected to ${where}`,
      metrics: [metric("connectTimeMs", ms, "ms", "responseTime")],
    };
  } catch (err) {
    const why = ctx.signal.aborted ? abortMessage(ctx.signal, ctx.timeoutMs) : errorMessage(err);
    return failed(`Could not connect to ${where}: ${why}`, elapsed());
  }
};
