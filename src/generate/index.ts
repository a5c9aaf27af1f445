// Generation: the schedules (exact and latent reset), samplers, the exact KV-cached decoder and the public API.

export { generate, generateBatch, generateBatchStream, generateStream, lastPositionLogits, type BatchGenerateOptions, type BatchToken, type GenerateOptions } from "./generate.js";
export { argmax, candidateDistribution, sampleToken, validateSamplingOptions, type CandidateDistribution, type SamplingOptions } from "./sampling.js";
export {
  defaultNumLatents,
  defaultResetFill,
  effectiveConfig,
  generationSchedule,
  numLatentsRange,
  resolveSchedule,
  SCHEDULE_NAMES,
  scheduleStep,
  validateLatentCap,
  validateSchedule,
  type ResolvedSchedule,
  type ScheduleChoice,
  type ScheduleConfig,
  type ScheduleName,
  type ScheduleStep,
  type StepKind,
} from "./schedule.js";
export { scheduleLogLoss, type ScheduleScoreOptions } from "./schedule-score.js";
export { int8Layers, layersFor, WEIGHT_FORMATS, type WeightFormat } from "./int8-layers.js";
export { CachedDecoder, type CachedDecoderOptions, type DecoderStepStats, type RowStep } from "./cached-decoder.js";
