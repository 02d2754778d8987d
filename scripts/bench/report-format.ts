/** The few ways report sections write a figure, a ratio, a target's verdict and a table. */

export const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "–");

export const ratio = (a: number, b: number) =>
  Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : "–";

export const ok = (pass: boolean) => (pass ? "met" : "**not met**");

export const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
