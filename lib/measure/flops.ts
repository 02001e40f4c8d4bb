/** Arithmetic of the whisper encoder, from the model's hyper-parameters. */

export interface EncoderShape {
  nMels: number;
  nAudioCtx: number;
  nAudioState: number;
  nAudioLayer: number;
}

/**
 * Floating-point operations of one encoder pass over 30 s (multiply-add = 2 FLOPs),
 * counting the matrix products that dominate: the two convolutions, per layer the
 * Q/K/V/output projections (4·2·n·d²), the attention scores and weighted sum
 * (2·2·n²·d) and the MLP with its 4·d hidden layer (2·2·n·d·4d).
 */
export function encoderFlops(s: EncoderShape): number {
  const n = s.nAudioCtx;
  const d = s.nAudioState;
  const frames = 2 * n; // mel frames before the stride-2 convolution
  const conv1 = 2 * frames * d * s.nMels * 3;
  const conv2 = 2 * n * d * d * 3;
  const perLayer = 8 * n * d * d + 4 * n * n * d + 16 * n * d * d;
  return conv1 + conv2 + s.nAudioLayer * perLayer;
}
