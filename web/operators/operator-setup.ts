/**
 * Operator accounts at web start-up. Dev: an empty database gets the development operator
 * (`ops`, password `ops-dev-password`) so a fresh `npm run dev` can sign in. Prod: the web refuses
 * to start with no enabled operator, or with one whose password is the development one.
 */
import type { Logger } from "../../shared/logger.ts";
import type { OperatorsRepo } from "./operators.repo.ts";
import { DEV_OPERATOR } from "./operator-password.ts";

const ADD = "create one with `npm run operator -- add <name>`";

/** A reason to refuse to start, or null. */
export async function prepareOperators(profile: "dev" | "prod", accounts: OperatorsRepo, logger: Logger): Promise<string | null> {
  if (profile === "dev") {
    try {
      if ((await accounts.count()) === 0 && (await accounts.setPassword(DEV_OPERATOR.name, DEV_OPERATOR.password, "add")))
        logger.warn({ operator: DEV_OPERATOR.name }, "no operator accounts: created the development operator (see README)");
    } catch (err) {
      logger.warn({ err }, "could not check the operator accounts (are the migrations applied?)");
    }
    return null;
  }
  let count: number;
  let weak: string[];
  try {
    count = await accounts.count();
    weak = await accounts.withDevPassword();
  } catch (err) {
    logger.error({ err }, "could not read the operator accounts");
    return "could not read the operator accounts: is the database reachable and migrated (`npm run migrate`)?";
  }
  if (count === 0) return `no operator accounts (OPS_PASSWORD is no longer read): ${ADD}`;
  if (weak.length > 0)
    return `the development password is refused in prod; operator(s) ${weak.join(", ")} still use it: \`npm run operator -- reset <name>\``;
  return null;
}
