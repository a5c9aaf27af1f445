// Named model configurations: sizes for real use on a CPU machine, and the two published
// checkpoints of krasserm/perceiver-io (`clm-base`, `sam-giant-midi`) with every field as published.
// Values are partial configs over the reference defaults (see config.ts); `--key value` overrides
// and JSON files apply on top.

import type { PerceiverARConfig } from "./config.js";

export interface Preset {
  description: string;
  model: Partial<PerceiverARConfig>;
  /** Reference-only (training-time) fields of a published model's model_config, kept for export. */
  reference?: Record<string, number | boolean | null>;
  /** The published model this preset describes. */
  hub?: { id: string; modelType: string; architecture: string; tokenizerClass?: string };
}

export const PRESETS: Record<string, Preset> = {
  tiny: {
    description: "a few thousand parameters, for tests and smoke runs",
    model: { vocabSize: 258, maxSeqLen: 64, maxLatents: 16, numChannels: 32, numHeads: 2, numSelfAttentionLayers: 1, crossAttentionDropout: 0.5 },
  },
  "text-small": {
    description: "byte-level text model trained by `npm start` (~0.8M parameters, context 1024, 128 latents)",
    model: {
      vocabSize: 258,
      maxSeqLen: 1024,
      maxLatents: 128,
      numChannels: 128,
      numHeads: 4,
      numSelfAttentionLayers: 3,
      numSelfAttentionRotaryLayers: -1,
      // 0.75 rather than the reference's 0.5: at npm start's length it learns faster and each step
      // is cheaper (1,000 steps: 2.096 vs 2.140 bits/byte on bench/equal-wallclock.ts's bytes, 2%
      // less CPU; 0 gave 2.206 after 900 steps, 0.875 gave 2.124). Evaluation uses every prefix token.
      crossAttentionDropout: 0.75,
      absPosEmb: false,
      outputNorm: true,
      outputBias: false,
    },
  },
  standard: {
    description: "the benchmark config: context 4096, 512 latents, width 256, 4 heads, 1 cross- + 5 self-attention layers",
    model: { vocabSize: 256, maxSeqLen: 4096, maxLatents: 512, numChannels: 256, numHeads: 4, numSelfAttentionLayers: 5, crossAttentionDropout: 0 },
  },
  "transformer-2k": {
    description: "decoder-only Transformer baseline (latents = context 2048), 6 layers, width 256",
    model: { vocabSize: 256, maxSeqLen: 2048, maxLatents: 2048, numChannels: 256, numHeads: 4, numSelfAttentionLayers: 5, crossAttentionDropout: 0 },
  },
  copy: {
    description: "copy task (random_mirrored): --context N (default 1024); beyond ~8k, train 1k first and continue with --init-from",
    // Retrieval by position needs distinct position embeddings from the start: init_scale 0.1
    // learns the task in a few hundred steps where the reference's 0.02 plateaus (measured at 1k context).
    model: { vocabSize: 258, maxSeqLen: 1024, maxLatents: 128, numChannels: 128, numHeads: 4, numSelfAttentionLayers: 2, crossAttentionDropout: 0, absPosEmb: true, initScale: 0.1 },
  },
  "image-mnist": {
    description: "MNIST digits, 784 grey tokens + BOS per image, 128 latents",
    model: { vocabSize: 259, maxSeqLen: 785, maxLatents: 128, numChannels: 128, numHeads: 4, numSelfAttentionLayers: 3, crossAttentionDropout: 0.25 },
  },
  "image-emoji": {
    description: "64x64 colour emoji, 12,288 RGB tokens + BOS per image, 256 latents",
    model: { vocabSize: 259, maxSeqLen: 12289, maxLatents: 256, numChannels: 128, numHeads: 4, numSelfAttentionLayers: 3, crossAttentionDropout: 0.5 },
  },
  "music-small": {
    description: "piano performance events (389-token MAESTRO vocabulary), context 2048, 256 latents",
    model: { vocabSize: 389, maxSeqLen: 2048, maxLatents: 256, numChannels: 128, numHeads: 4, numSelfAttentionLayers: 3, numSelfAttentionRotaryLayers: -1, crossAttentionDropout: 0.5, absPosEmb: false },
  },
  "clm-base": {
    description: "krasserm/perceiver-ar-clm-base as published: 455M parameters, C4, xlnet-base-cased SentencePiece vocabulary (32,000), context 1024, 512 latents",
    // Every field as in the published model's config.json (model_config), which its FSDP training
    // script (examples/training/clm/train_fsdp.sh of krasserm/perceiver-io) sets; vocab_size and
    // max_seq_len come from the data module (xlnet-base-cased, --data.max_seq_len=1024).
    model: {
      vocabSize: 32000,
      maxSeqLen: 1024,
      maxLatents: 512,
      numChannels: 1280,
      numHeads: 10,
      numSelfAttentionLayers: 20,
      numSelfAttentionRotaryLayers: 1,
      selfAttentionWideningFactor: 4,
      crossAttentionWideningFactor: 4,
      crossAttentionDropout: 0.0,
      absPosEmb: false,
      outputNorm: true,
      outputBias: false,
      initScale: 0.02,
    },
    reference: { max_heads_parallel: 2, post_attention_dropout: 0.0, residual_dropout: 0.0, activation_checkpointing: false, activation_offloading: false },
    hub: { id: "krasserm/perceiver-ar-clm-base", modelType: "perceiver-ar-causal-language-model", architecture: "PerceiverCausalLanguageModel", tokenizerClass: "XLNetTokenizerFast" },
  },
  "sam-giant-midi": {
    description: "krasserm/perceiver-ar-sam-giant-midi as published: 134M parameters, GiantMIDI-Piano, 389-token MAESTRO vocabulary, context 6144, 2048 latents",
    // As set by examples/training/sam/giantmidi/train.sh (and train.py) of krasserm/perceiver-io
    // over the symbolic-audio script's defaults (output_norm, no output bias, no absolute positions).
    model: {
      vocabSize: 389,
      maxSeqLen: 6144,
      maxLatents: 2048,
      numChannels: 768,
      numHeads: 8,
      numSelfAttentionLayers: 18,
      numSelfAttentionRotaryLayers: 1,
      selfAttentionWideningFactor: 4,
      crossAttentionWideningFactor: 4,
      crossAttentionDropout: 0.1,
      absPosEmb: false,
      outputNorm: true,
      outputBias: false,
      initScale: 0.02,
    },
    reference: { max_heads_parallel: null, post_attention_dropout: 0.1, residual_dropout: 0.1, activation_checkpointing: true, activation_offloading: false },
    hub: { id: "krasserm/perceiver-ar-sam-giant-midi", modelType: "perceiver-ar-symbolic-audio-model", architecture: "PerceiverSymbolicAudioModel" },
  },
};

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

export function getPreset(name: string): Preset {
  const p = PRESETS[name];
  if (p === undefined) throw new RangeError(`unknown preset "${name}"; choose one of: ${presetNames().join(", ")}`);
  return p;
}
