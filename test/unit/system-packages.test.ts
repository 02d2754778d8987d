/** The decision behind "a fresh machine in two commands": use, install (root with apt-get), or say what to run. */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { askToInstall, decideInstall, findChromium, type Machine } from "../../scripts/stack/system-packages.ts";

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

describe("Caddy for the deploy checks", () => {
  it("is installed with apt-get by root, and otherwise asked for", () => {
    const root = decideInstall(["caddy"], debianRoot);
    assert.deepEqual(root.action === "install" && root.packages, ["caddy"]);
    const user = decideInstall(["caddy"], debianUser);
    assert.match(user.action === "ask" ? user.message : "", /^Caddy \(for the deploy checks\) not found\./);
    assert.match(user.action === "ask" ? user.message : "", /^\s+sudo apt-get install -y caddy$/m);
  });
});

describe("Chromium for the browser tests", () => {
  it("is installed with apt-get by root, and otherwise asked for, with CHROMIUM_PATH as the way out", () => {
    const root = decideInstall(["chromium"], debianRoot);
    assert.deepEqual(root.action === "install" && root.packages, ["chromium"]);
    const user = decideInstall(["chromium"], debianUser);
    assert.equal(user.action, "ask");
    assert.match(user.action === "ask" ? user.message : "", /^Chromium \(for the browser tests\) not found\./);
    assert.match(user.action === "ask" ? user.message : "", /^\s+sudo apt-get install -y chromium$/m);
    assert.match(user.action === "ask" ? user.message : "", /CHROMIUM_PATH/);
  });

  it("names the failure and the command when root's install fails (no network)", () => {
    const message = askToInstall(["chromium"], debianRoot, "apt-get update -qq failed with exit code 100");
    assert.match(message, /not found, and installing it failed \(apt-get update -qq failed with exit code 100\)/);
    assert.match(message, /^\s+apt-get install -y chromium$/m, "root is not told to sudo");
  });

  describe("is found", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "quayside-find-chromium-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const program = (folder: string, mode: number) => {
      mkdirSync(path.join(dir, folder), { recursive: true });
      const file = path.join(dir, folder, "chromium");
      writeFileSync(file, "#!/bin/sh\n");
      chmodSync(file, mode);
      return file;
    };
    const empty = path.join(dir, "empty");
    mkdirSync(empty);
    const notExecutable = program("plain", 0o644);
    const first = program("first", 0o755);
    const second = program("second", 0o755);
    const PATH = [empty, path.dirname(notExecutable), path.dirname(first), path.dirname(second)].join(path.delimiter);

    it("as the first executable chromium on PATH", () => {
      assert.equal(findChromium({ PATH }), first);
      assert.equal(findChromium({ PATH: empty }), null);
      assert.equal(findChromium({}), null);
    });

    it("at CHROMIUM_PATH when set, and nowhere else", () => {
      assert.equal(findChromium({ PATH, CHROMIUM_PATH: second }), second);
      assert.equal(findChromium({ PATH, CHROMIUM_PATH: path.join(empty, "chromium") }), null);
      assert.equal(findChromium({ PATH, CHROMIUM_PATH: notExecutable }), null);
    });
  });
});
