/** Operator names: what the command accepts, the sign-in form checks and the workflow records. */
import { z } from "zod";

export const operatorNameSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z][a-z0-9._-]{1,31}$/, "Operator names are 2-32 characters: a letter, then letters, digits, '.', '_' or '-'");
