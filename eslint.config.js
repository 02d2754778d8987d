// One linter for the repository. Type-aware rules catch floating promises; durable handler files
// (workflows, objects, services) may not import I/O libraries or read clocks and randomness.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const durableFiles = [
  "worker/**/*.workflow.ts",
  "worker/**/*.object.ts",
  "worker/**/*.service.ts",
  "worker/**/*.handlers.ts",
  "worker/progress-tracker.ts",
  // The order workflow's steps and its payment on the hosted page run inside its handler.
  "worker/order-run.ts",
  "worker/order-payments.ts",
  "worker/hosted-payment.ts",
  // OrderRefund's shared steps and its reconcile steps run inside its handlers.
  "worker/order-refund-steps.ts",
  "worker/order-refund-reconcile.ts",
];

export default tseslint.config(
  { ignores: ["node_modules/", ".data/", "test-results/", "bench-results/", "web/public/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ["eslint.config.js"] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["describe", "it", "test", "suite"] }] },
      ],
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "no-console": "error",
    },
  },
  {
    files: durableFiles,
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            "pg",
            "ioredis",
            "nodemailer",
            "openai",
            "@anthropic-ai/sdk",
            "stripe",
            "node:fs",
            "node:net",
            "node:http",
            "node:crypto",
          ].map((name) => ({
            name,
            message: "Durable handlers touch the world only through adapters called inside ctx.run.",
          })),
          // The adapters that load an SDK are wired in worker/main.ts; durable files take their types only.
          patterns: [
            {
              group: [
                "**/adapters/llm-factory.ts",
                "**/adapters/llm-openai.ts",
                "**/adapters/llm-anthropic.ts",
                "**/adapters/stripe-payments.ts",
              ],
              allowTypeImports: true,
              message: "Durable files do not load SDK adapters; worker/main.ts wires them in.",
            },
          ],
        },
      ],
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: "Use ctx.date.now() in durable code." },
        { object: "Math", property: "random", message: "Use ctx.rand in durable code." },
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: "Use ctx.date in durable code." },
        {
          selector: "CallExpression[callee.object.name='Promise'][callee.property.name=/^(all|race|any|allSettled)$/]",
          message: "Combine durable promises with RestatePromise.",
        },
      ],
    },
  },
  {
    // The web talks to the worker through Restate; it may know the worker's types, never load its code.
    files: ["web/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/worker/**"],
              allowTypeImports: true,
              message: "The web imports only types from worker/ (it talks to it through Restate).",
            },
            {
              group: ["**/worker/adapters/**"],
              message:
                "A contract the web shares with the worker lives in shared/ or a service definition, not in the worker's adapters.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["test/**/*.ts", "scripts/**/*.ts"],
    rules: { "no-console": "off" },
  },
  {
    // Tests read pg rows, JSON replies and (in browser callbacks, without the DOM lib) page elements
    // only to assert on them: the assertion is the check, and a wrong shape fails the test. App code
    // and scripts type rows at the repository boundary and parse JSON with a schema instead.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-call": "off",
    },
  },
);
