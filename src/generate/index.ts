// Generation: the reference's schedule, samplers, the exact KV-cached decoder and the public API.

export { generate, generateStream, lastPositionLogits, type GenerateOptions } from "./generate.js";
export { argmax, candidateDistribution, sampleToken, validateSamplingOptions, type CandidateDistribution, type SamplingOptions } from "./sampling.js";
export { defaultNumLatents, effectiveConfig, generationSchedule, numLatentsRange, scheduleStep, validateLatentCap, validateSchedule, type ScheduleConfig, type ScheduleStep, type StepKind } from "./schedule.js";
export { CachedDecoder, type DecoderStepStats } from "./cached-decoder.js";
