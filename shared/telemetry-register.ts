/**
 * Preloaded with `node --import ./shared/telemetry-register.ts …/main.ts` (the npm scripts, the
 * local stack and the images do). With OTEL_EXPORTER_OTLP_ENDPOINT set it starts tracing before
 * the application's modules load, so the pg, ioredis, http and undici instrumentations can patch
 * those libraries as ESM imports them; without it, it loads nothing and costs nothing.
 *
 * It reads the environment itself because it runs before the process parses its config: a value
 * the config would reject is left alone here, and the config then stops the process naming it.
 */
const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;

if (endpoint && URL.canParse(endpoint)) {
  const [{ register }, { createAddHookMessageChannel }, { startTelemetry }] = await Promise.all([
    import("node:module"),
    import("import-in-the-middle"),
    import("./telemetry.ts"),
  ]);
  // The ESM loader hook intercepts only the modules an instrumentation asked for, not every import.
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register("import-in-the-middle/hook.mjs", import.meta.url, registerOptions);
  await startTelemetry({
    serviceName: process.env.OTEL_SERVICE_NAME || defaultServiceName(process.argv[1] ?? ""),
    endpoint,
    instrumentLibraries: true,
  });
  await waitForAllMessagesAcknowledged();
}

/** quayside-web or quayside-worker, from the entry point (`web/main.ts`, `worker/main.ts`). */
function defaultServiceName(entry: string): string {
  const dir = /(?:^|[\\/])(web|worker)[\\/][^\\/]+$/.exec(entry)?.[1];
  return dir ? `quayside-${dir}` : "quayside";
}
