/**
 * Estimated cost of model calls. Prices are US cents per 1,000 tokens (input, output), copied from
 * the providers' public price lists when this table was written: an estimate for the page, not a
 * bill. LLM_PRICE_INPUT_CENTS_PER_1K / LLM_PRICE_OUTPUT_CENTS_PER_1K override the table.
 */
export interface Price {
  inputCentsPer1k: number;
  outputCentsPer1k: number;
}

const TABLE: Record<string, Price> = {
  "gpt-4.1": { inputCentsPer1k: 0.2, outputCentsPer1k: 0.8 },
  "gpt-4.1-mini": { inputCentsPer1k: 0.04, outputCentsPer1k: 0.16 },
  "gpt-4.1-nano": { inputCentsPer1k: 0.01, outputCentsPer1k: 0.04 },
  "gpt-4o": { inputCentsPer1k: 0.25, outputCentsPer1k: 1.0 },
  "gpt-4o-mini": { inputCentsPer1k: 0.015, outputCentsPer1k: 0.06 },
  "claude-haiku-4-5": { inputCentsPer1k: 0.1, outputCentsPer1k: 0.5 },
  "claude-sonnet-4-5": { inputCentsPer1k: 0.3, outputCentsPer1k: 1.5 },
  "claude-opus-4-1": { inputCentsPer1k: 1.5, outputCentsPer1k: 7.5 },
  offline: { inputCentsPer1k: 0, outputCentsPer1k: 0 },
};

const FREE: Price = { inputCentsPer1k: 0, outputCentsPer1k: 0 };

/** The price for `model`: the override, else the table (dated snapshots match their base name), else free. */
export function priceFor(model: string, override: Partial<Price> = {}): Price {
  const base =
    TABLE[model] ??
    Object.entries(TABLE)
      .sort(([a], [b]) => b.length - a.length)
      .find(([name]) => model.startsWith(`${name}-`))?.[1] ??
    FREE;
  return {
    inputCentsPer1k: override.inputCentsPer1k ?? base.inputCentsPer1k,
    outputCentsPer1k: override.outputCentsPer1k ?? base.outputCentsPer1k,
  };
}

export function estimateCostCents(price: Price, usage: { inputTokens: number; outputTokens: number }): number {
  const cents = (usage.inputTokens * price.inputCentsPer1k + usage.outputTokens * price.outputCentsPer1k) / 1000;
  return Math.round(cents * 10_000) / 10_000;
}
