/** The decision behind "a fresh machine in two commands": use, install (root with apt-get), or say what to run. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideInstall, type Machine } from "../../scripts/stack/system-packages.ts";

const debianRoot: Machine = { isRoot: true, hasAptGet: true, platform: "linux" };
const debianUser: Machine = { isRoot: false, hasAptGet: true, platform: "linux" };

describe("installing a missing PostgreSQL or Valkey", () => {
  it("does nothing when both binaries are present, whoever runs it", () => {
    for (const machine of [debianRoot, debianUser, { isRoot: false, hasAptGet: false, platform: "darwin" as const }]) {
      assert.deepEqual(decideInstall([], machine), { action: "none" });
    }
  });

  it("installs what is missing with apt-get when root, and says so", () => {
    const both = decideInstall(["postgres", "valkey"], debianRoot);
    assert.equal(both.action, "install");
    assert.deepEqual(both.action === "install" && both.packages, ["postgresql", "redis-server"]);
    assert.match(both.action === "install" ? both.announce : "", /PostgreSQL.*valkey-server or redis-server.*apt-get/);
    const one = decideInstall(["valkey"], debianRoot);
    assert.deepEqual(one.action === "install" && one.packages, ["redis-server"]);
  });

  it("without root, names the one command to run instead of installing", () => {
    const d = decideInstall(["postgres", "valkey"], debianUser);
    assert.equal(d.action, "ask");
    assert.match(d.action === "ask" ? d.message : "", /^\s+sudo apt-get install -y postgresql redis-server$/m);
  });

  it("root without apt-get, or another system, is asked too", () => {
    const fedora = decideInstall(["postgres"], { isRoot: true, hasAptGet: false, platform: "linux" });
    assert.equal(fedora.action, "ask");
    assert.match(fedora.action === "ask" ? fedora.message : "", /package manager/);
    const mac = decideInstall(["valkey"], { isRoot: false, hasAptGet: false, platform: "darwin" });
    assert.match(mac.action === "ask" ? mac.message : "", /brew install valkey/);
  });
});
