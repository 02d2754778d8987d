/**
 * The raw Restate baseline for `npm run bench`: a workflow of three no-op named steps, served the
 * way the worker serves its own (HTTP/2 endpoint handler), registered on the same restate-server.
 * `ping` is a shared handler for "restarted and serving again". Not part of the application.
 *
 * Env: BENCH_NOOP_PORT (9081), set by the bench to a free port; not one of the bench's knobs.
 */
import http2 from "node:http2";
import * as restate from "@restatedev/restate-sdk";
import { z } from "zod";
import { loadConfigOrExit } from "../../shared/config.ts";

const benchNoop = restate.workflow({
  name: "BenchNoop",
  handlers: {
    run: async (ctx: restate.WorkflowContext) => {
      await ctx.run("one", () => 1);
      await ctx.run("two", () => 2);
      await ctx.run("three", () => 3);
      return "ok";
    },
    ping: (_ctx: restate.WorkflowSharedContext) => Promise.resolve("pong"),
  },
});

const { BENCH_NOOP_PORT: port } = loadConfigOrExit(
  z.object({ BENCH_NOOP_PORT: z.coerce.number().int().min(1).max(65535).default(9081) }),
);
const server = http2.createServer(restate.createEndpointHandler({ services: [benchNoop] }));
server.listen(port, "127.0.0.1");
process.once("SIGTERM", () => {
  server.close();
  process.exit(0);
});
