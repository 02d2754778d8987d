/**
 * Registers this worker's endpoint with the Restate admin API. Re-registering unchanged code is a
 * no-op; when the services changed, Restate answers 409 and we retry with `force` if allowed.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../shared/logger.ts";

export interface RegistrationOptions {
  adminUrl: string;
  endpointUrl: string;
  force: boolean;
  attempts?: number;
}

async function post(adminUrl: string, body: object): Promise<Response> {
  return fetch(new URL("/deployments", adminUrl), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
}

export async function registerDeployment(opts: RegistrationOptions, logger: Logger): Promise<{ id: string; services: string[] }> {
  const attempts = opts.attempts ?? 20;
  for (let attempt = 1; ; attempt++) {
    try {
      let res = await post(opts.adminUrl, { uri: opts.endpointUrl });
      if (res.status === 409 && opts.force) {
        logger.info("services changed since the last registration: re-registering with force");
        await res.body?.cancel();
        res = await post(opts.adminUrl, { uri: opts.endpointUrl, force: true });
      }
      const text = await res.text();
      if (!res.ok) throw new Error(`admin API answered ${res.status}: ${text.slice(0, 500)}`);
      const body = JSON.parse(text) as { id: string; services: Array<{ name: string }> };
      return { id: body.id, services: body.services.map((s) => s.name) };
    } catch (err) {
      if (attempt >= attempts) throw err;
      logger.warn({ err, attempt }, "registration failed, retrying");
      await sleep(Math.min(250 * attempt, 2_000));
    }
  }
}
