/** Report section 4: `npm run dev` and restarts, each beside restate-server alone or the raw endpoint. */
import { f, ok, ratio, table } from "./report-format.ts";
import type { StartupResult } from "./startup.scenario.ts";

export function startupSection(u: StartupResult): string[] {
  const restateAlone = "restate-server alone → ingress healthy";
  const rawRestart = "raw endpoint restart → serving";
  return [
    "\n### 4. Start-up\n",
    table(
      ["what", "ms", "baseline", "baseline ms", "ratio", "target"],
      [
        [
          "`npm run dev` → ready, first run (initdb)",
          f(u.devColdMs, 0),
          restateAlone,
          f(u.restateAloneMs, 0),
          ratio(u.devColdMs, u.restateAloneMs),
          `≤ 5000 ms (${ok(u.devColdMs <= 5000)})`,
        ],
        [
          "`npm run dev` → ready, warm data folder",
          f(u.devWarmMs, 0),
          restateAlone,
          f(u.restateAloneMs, 0),
          ratio(u.devWarmMs, u.restateAloneMs),
          `≤ 5000 ms (${ok(u.devWarmMs <= 5000)})`,
        ],
        [
          "worker restart → serving",
          f(u.workerServingMs, 0),
          rawRestart,
          f(u.rawEndpointServingMs, 0),
          ratio(u.workerServingMs, u.rawEndpointServingMs),
          "",
        ],
        [
          "worker restart → registered",
          f(u.workerRegisteredMs, 0),
          rawRestart,
          f(u.rawEndpointServingMs, 0),
          ratio(u.workerRegisteredMs, u.rawEndpointServingMs),
          "",
        ],
      ],
    ),
  ];
}
