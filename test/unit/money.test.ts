import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatMoney, minorUnitDigits } from "../../shared/money.ts";

describe("minor units per currency", () => {
  it("takes each currency's digits from Intl: JPY 0, EUR and USD 2, KWD 3", () => {
    assert.equal(minorUnitDigits("JPY"), 0);
    assert.equal(minorUnitDigits("EUR"), 2);
    assert.equal(minorUnitDigits("USD"), 2);
    assert.equal(minorUnitDigits("KWD"), 3);
  });

  it("formats euro cents as euros", () => {
    assert.equal(formatMoney(1234, "EUR"), "€12.34");
    assert.equal(formatMoney(5, "EUR"), "€0.05");
    assert.equal(formatMoney(0, "EUR"), "€0.00");
  });

  it("formats yen as whole yen: 1500 is 1,500 yen, not 15", () => {
    const out = formatMoney(1500, "JPY");
    assert.match(out, /1,500/);
    assert.doesNotMatch(out, /\./);
    assert.match(out, /¥/);
  });

  it("formats Kuwaiti fils with three decimals", () => {
    assert.match(formatMoney(1234, "KWD"), /(^|[^\d])1\.234$/);
  });

  it("formats US cents as dollars", () => {
    assert.match(formatMoney(123456, "USD"), /\$1,234\.56$/);
  });

  it("shows a fraction of a minor unit with the decimals asked for", () => {
    assert.match(formatMoney(0.12, "USD", { fractionDigits: 4 }), /\$0\.0012$/);
    assert.match(formatMoney(1234, "EUR", { fractionDigits: 4 }), /^€12\.3400$/);
    assert.equal(formatMoney(1234, "EUR"), "€12.34", "the currency's own format is kept beside it");
  });
});
