import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SafeHtml, escapeHtml, html, unsafeRaw } from "../../shared/html.ts";

describe("html tagged template", () => {
  it("returns SafeHtml whose value and toString are the rendered markup", () => {
    const out = html`<p>${"hi"}</p>`;
    assert.ok(out instanceof SafeHtml);
    assert.equal(out.value, "<p>hi</p>");
    assert.equal(String(out), "<p>hi</p>");
  });

  it("escapes each of & < > \" ' ` in interpolated strings", () => {
    assert.equal(html`${"&"}`.value, "&amp;");
    assert.equal(html`${"<"}`.value, "&lt;");
    assert.equal(html`${">"}`.value, "&gt;");
    assert.equal(html`${'"'}`.value, "&quot;");
    assert.equal(html`${"'"}`.value, "&#39;");
    assert.equal(html`${"`"}`.value, "&#96;");
    assert.equal(html`<b>${`a&b<c>d"e'f\`g`}</b>`.value, "<b>a&amp;b&lt;c&gt;d&quot;e&#39;f&#96;g</b>");
  });

  it("does not escape the literal parts of the template", () => {
    assert.equal(html`<a href="/x">${"y"}</a>`.value, '<a href="/x">y</a>');
  });

  it("escapes already-escaped text again when it is a plain string (no entity passthrough)", () => {
    assert.equal(html`${"&amp;"}`.value, "&amp;amp;");
  });

  it("renders numbers, including 0 and negatives", () => {
    assert.equal(html`<i>${42}</i><i>${0}</i><i>${-1.5}</i>`.value, "<i>42</i><i>0</i><i>-1.5</i>");
  });

  it("renders null, undefined and false as empty, and true as 'true'", () => {
    assert.equal(html`[${null}][${undefined}][${false}][${true}]`.value, "[][][][true]");
  });

  it("does not double-escape nested SafeHtml", () => {
    const inner = html`<em>${"a<b"}</em>`;
    assert.equal(inner.value, "<em>a&lt;b</em>");
    assert.equal(html`<p>${inner}</p>`.value, "<p><em>a&lt;b</em></p>");
  });

  it("joins arrays without separators and escapes strings inside them", () => {
    const items = ["x", "<y>", "&"].map((s) => html`<li>${s}</li>`);
    // prettier-ignore
    assert.equal(html`<ul>${items}</ul>`.value, "<ul><li>x</li><li>&lt;y&gt;</li><li>&amp;</li></ul>");
    assert.equal(html`${["<a>", 1, null, false, ["b", unsafeRaw("<br>")]]}`.value, "&lt;a&gt;1b<br>");
    // prettier-ignore
    assert.equal(html`<ul>${[]}</ul>`.value, "<ul></ul>");
  });

  it("unsafeRaw passes markup through verbatim", () => {
    assert.equal(html`<div>${unsafeRaw("<script>ok()</script>")}</div>`.value, "<div><script>ok()</script></div>");
  });

  it("renders an img onerror XSS payload inert", () => {
    const out = html`<p>${"<img src=x onerror=alert(1)>"}</p>`.value;
    assert.equal(out, "<p>&lt;img src=x onerror=alert(1)&gt;</p>");
    assert.doesNotMatch(out, /<img/);
  });

  it("renders an attribute-breakout script payload inert", () => {
    // prettier-ignore
    const out = html`<input value="${'"><script>alert(1)</script>'}">`.value;
    assert.equal(out, '<input value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">');
    assert.doesNotMatch(out, /<script/);
    // The only double quotes left are the two from the template itself.
    assert.equal(out.split('"').length - 1, 2);
  });

  it("renders a single-quoted attribute breakout inert", () => {
    // Single-quoted attribute on purpose: the payload tries to close it.
    // prettier-ignore
    const out = html`<a title='${"' onmouseover='alert(1)"}'>x</a>`.value;
    assert.equal(out, "<a title='&#39; onmouseover=&#39;alert(1)'>x</a>");
  });

  it("handles a template with no interpolations and one that starts/ends with a value", () => {
    assert.equal(html`plain`.value, "plain");
    assert.equal(html`${"<"}mid${">"}`.value, "&lt;mid&gt;");
  });
});

describe("escapeHtml", () => {
  it("escapes every occurrence, leaves other characters alone", () => {
    assert.equal(escapeHtml("<<>>&&"), "&lt;&lt;&gt;&gt;&amp;&amp;");
    assert.equal(escapeHtml("héllo wörld / = ;"), "héllo wörld / = ;");
    assert.equal(escapeHtml(""), "");
  });
});
