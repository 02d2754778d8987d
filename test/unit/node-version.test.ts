/** One Node version everywhere: what developers install, what npm scripts run, what the images ship. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");

test("engines, .nvmrc, the node dev dependency and the Docker base images name the same Node", () => {
  const pkg = JSON.parse(read("package.json")) as { engines: { node: string }; devDependencies: { node: string } };
  const pinned = pkg.devDependencies.node;
  assert.match(pinned, /^\d+\.\d+\.\d+$/, "the node dev dependency is an exact version");
  assert.equal(pkg.engines.node, pinned, "engines.node");
  assert.equal(read(".nvmrc").trim(), pinned, ".nvmrc");
  for (const file of ["deploy/Dockerfile.web", "deploy/Dockerfile.worker"]) {
    const tags = [...read(file).matchAll(/^FROM node:(\S+?)-/gm)].map((m) => m[1]);
    assert.ok(tags.length > 0, `${file} builds on a node image`);
    assert.deepEqual(new Set(tags), new Set([pinned]), `${file} base image tag`);
  }
});

test("the npm scripts run the pinned Node", () => {
  const pkg = JSON.parse(read("package.json")) as { devDependencies: { node: string } };
  assert.equal(process.version, `v${pkg.devDependencies.node}`);
});
