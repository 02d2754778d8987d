/**
 * `npm run register`: registers WORKER_PUBLIC_URL with the Restate admin API and exits. The
 * production step (a one-shot job) that replaces the worker's own registration in dev. Use a
 * versioned URL per release, so invocations in flight finish on the deployment that started them.
 */
import { loadConfigOrExit } from "../shared/config.ts";
import { workerConfigSchema } from "../shared/worker-config.schema.ts";
import { createLogger } from "../shared/logger.ts";
import { registerDeployment } from "./deployment-registration.ts";

const config = loadConfigOrExit(workerConfigSchema);
const logger = createLogger({ name: "register", level: config.LOG_LEVEL, format: config.LOG_FORMAT });
if (config.APP_PROFILE === "prod" && config.WORKER_REGISTER_FORCE && config.ALLOW_REGISTER_FORCE !== true) {
  // Forcing replaces a deployment's services in place: invocations in flight on it can break.
  logger.fatal(
    "WORKER_REGISTER_FORCE is refused in prod unless ALLOW_REGISTER_FORCE=true: register a new, versioned URL instead",
  );
  process.exit(1);
}
try {
  const d = await registerDeployment(
    { adminUrl: config.RESTATE_ADMIN_URL, endpointUrl: config.WORKER_PUBLIC_URL, force: config.WORKER_REGISTER_FORCE },
    logger,
  );
  logger.info({ deployment: d.id, services: d.services, uri: config.WORKER_PUBLIC_URL }, "registered with Restate");
} catch (err) {
  logger.fatal({ err }, "registration failed");
  process.exitCode = 1;
}
