/** deploy/otel-collector.yaml: every pipeline uses only components the file defines, and traces have one. */
import { z } from "zod";

const collectorConfig = z.looseObject({
  receivers: z.record(z.string(), z.unknown()),
  processors: z.record(z.string(), z.unknown()),
  exporters: z.record(z.string(), z.unknown()),
  service: z.looseObject({
    pipelines: z.record(
      z.string(),
      z.strictObject({ receivers: z.array(z.string()), processors: z.array(z.string()), exporters: z.array(z.string()) }),
    ),
  }),
});

export function otelCollectorProblems(doc: unknown): string[] {
  const c = collectorConfig.parse(doc);
  const undefinedRefs = Object.entries(c.service.pipelines).flatMap(([name, p]) =>
    (["receivers", "processors", "exporters"] as const).flatMap((k) =>
      p[k].filter((x) => !(x in c[k])).map((x) => `${name}: ${k} ${x} is not defined`),
    ),
  );
  return Object.keys(c.service.pipelines).includes("traces") ? undefinedRefs : [...undefinedRefs, "no traces pipeline"];
}
