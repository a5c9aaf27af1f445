// Every parameter and buffer name of the reference state dict (krasserm/perceiver-io's
// CausalSequenceModel, as in `model.safetensors` / `pytorch_model.bin` without the `backend_model.`
// prefix), in one table. Models, warm start, checkpoint code and tests read names from here; the
// nn/ layers create and bind their parameters from these name objects once, never by string
// template at call time.
//
// Layout of the reference (torch module paths; `.module` is its residual wrapper):
//   input_adapter.txt_embedding.weight            (V, C)  token embedding, also the tied output
//   input_adapter.pos_embedding.weight            (N, C)  learned absolute positions (abs_pos_emb)
//   input_adapter.frq_pos_encoding.inv_freq       (r/2)   rotary inverse frequencies (a buffer)
//   cross_attention.0.module.{q_norm,kv_norm}     LayerNorms of the latent / prefix inputs
//   cross_attention.0.module.attention.{q,k,v,o}_proj.weight (C, C), o_proj.bias (C)
//   cross_attention.1.module.{0,1,3}              MLP: LayerNorm, Linear(C, wC), [GELU], Linear(wC, C)
//   self_attention.<l>.0.module.norm, .attention.{q,k,v,o}_proj.weight (no biases)
//   self_attention.<l>.1.module.{0,1,3}           MLP as above
//   out_norm.{weight,bias}                        final LayerNorm (output_norm)
//   output_adapter.bias                           (V) logits bias (output_bias)

export interface LayerNormNames {
  weight: string;
  bias: string;
}

export interface AttentionNames {
  q: string;
  k: string;
  v: string;
  o: string;
  /** The output projection's bias, or null where the reference has none. */
  oBias: string | null;
}

export interface MlpNames {
  norm: LayerNormNames;
  /** Linear(C, wC), no bias (torch Sequential index 1). */
  up: string;
  /** Linear(wC, C), no bias (torch Sequential index 3; index 2 is the GELU). */
  down: string;
}

export interface CrossAttentionLayerNames {
  qNorm: LayerNormNames;
  kvNorm: LayerNormNames;
  attention: AttentionNames;
  mlp: MlpNames;
}

export interface SelfAttentionLayerNames {
  norm: LayerNormNames;
  attention: AttentionNames;
  mlp: MlpNames;
}

export interface OutputHeadNames {
  norm: LayerNormNames;
  bias: string;
}

export const TOKEN_EMBEDDING = "input_adapter.txt_embedding.weight";
export const POSITION_EMBEDDING = "input_adapter.pos_embedding.weight";
/** A buffer, not a parameter: saved and loaded with the weights, never trained. */
export const INV_FREQ_BUFFER = "input_adapter.frq_pos_encoding.inv_freq";

export const CROSS_ATTENTION: CrossAttentionLayerNames = {
  qNorm: layerNormNames("cross_attention.0.module.q_norm"),
  kvNorm: layerNormNames("cross_attention.0.module.kv_norm"),
  attention: attentionNames("cross_attention.0.module.attention", true),
  mlp: mlpNames("cross_attention.1.module"),
};

/** Names of self-attention layer `layer` (0-based). */
export function selfAttentionLayerNames(layer: number): SelfAttentionLayerNames {
  return {
    norm: layerNormNames(`self_attention.${layer}.0.module.norm`),
    attention: attentionNames(`self_attention.${layer}.0.module.attention`, false),
    mlp: mlpNames(`self_attention.${layer}.1.module`),
  };
}

export const OUTPUT_HEAD: OutputHeadNames = {
  norm: layerNormNames("out_norm"),
  bias: "output_adapter.bias",
};

function layerNormNames(prefix: string): LayerNormNames {
  return { weight: `${prefix}.weight`, bias: `${prefix}.bias` };
}

function attentionNames(prefix: string, outBias: boolean): AttentionNames {
  return {
    q: `${prefix}.q_proj.weight`,
    k: `${prefix}.k_proj.weight`,
    v: `${prefix}.v_proj.weight`,
    o: `${prefix}.o_proj.weight`,
    oBias: outBias ? `${prefix}.o_proj.bias` : null,
  };
}

function mlpNames(prefix: string): MlpNames {
  return { norm: layerNormNames(`${prefix}.0`), up: `${prefix}.1.weight`, down: `${prefix}.3.weight` };
}
