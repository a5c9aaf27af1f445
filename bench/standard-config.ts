// The standard benchmark config of bench/train-step.ts (issue 14 item 2), shared by the scripts
// that time or profile it (train-step.ts, step-profile.ts): context N (max_seq_len, per run),
// M = 512 latents, width 256, 4 heads, 1 cross-attention + 5 self-attention layers (rotary in the
// first), vocab 256, batch 1, no cross-attention dropout, learned absolute positions plus rotary,
// tied output with bias.

export const STANDARD_LATENTS = 512;

export const STANDARD_MODEL = {
  vocabSize: 256,
  maxLatents: STANDARD_LATENTS,
  numChannels: 256,
  numHeads: 4,
  numSelfAttentionLayers: 5,
  numSelfAttentionRotaryLayers: 1,
  crossAttentionDropout: 0,
  absPosEmb: true,
  outputNorm: false,
  outputBias: true,
};
