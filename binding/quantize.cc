// ggml's quantizer over rows of f32 or f16 values, off the JavaScript thread, and ggml's facts
// about a type.
#include <cstring>
#include <vector>

#include "common.h"
#include "exports.h"
#include "ggml.h"

namespace wp {

namespace {

// Quantizes rows of f32 or f16 values into a ggml type (ggml_quantize_chunk), off the JS thread.
class QuantizeJob : public PromiseJob {
 public:
  QuantizeJob(Napi::Env env, std::shared_ptr<Executor> ex, const void* src, size_t n, bool f16, ggml_type type, int64_t rows, int64_t perRow)
      : PromiseJob(env, std::move(ex)), f16_(f16), type_(type), rows_(rows), perRow_(perRow) {
    const size_t bytes = n * (f16 ? sizeof(ggml_fp16_t) : sizeof(float));
    src_.resize(bytes);
    std::memcpy(src_.data(), src, bytes);
  }
  void Run() override {
    const int64_t n = rows_ * perRow_;
    std::vector<float> f32;
    const float* src;
    if (f16_) {
      f32.resize(n);
      ggml_fp16_to_fp32_row(reinterpret_cast<const ggml_fp16_t*>(src_.data()), f32.data(), n);
      src = f32.data();
    } else {
      src = reinterpret_cast<const float*>(src_.data());
    }
    out_.resize(ggml_row_size(type_, perRow_) * rows_);
    const size_t written = ggml_quantize_chunk(type_, src, out_.data(), 0, rows_, perRow_, nullptr);
    out_.resize(written);
  }
  void Fill(Napi::Env env, Napi::Object r) override {
    r.Set("data", Napi::Buffer<uint8_t>::Copy(env, out_.data(), out_.size()));
  }

 private:
  std::vector<uint8_t> src_;
  bool f16_;
  ggml_type type_;
  int64_t rows_, perRow_;
  std::vector<uint8_t> out_;
};

}  // namespace

// quantize(src: Float32Array | Uint16Array (f16 bits), type, rows, perRow) → Promise<{ data: Buffer }>
// Every precondition ggml asserts on is checked here, so bad arguments reject instead of aborting.
Napi::Value Quantize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber()) {
    ThrowError(env, "INVALID_ARGUMENT", "quantize(src: Float32Array | Uint16Array, type: number, rows: number, perRow: number)");
  }
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  const bool f16 = ta.TypedArrayType() == napi_uint16_array;
  if (!f16 && ta.TypedArrayType() != napi_float32_array) ThrowError(env, "INVALID_ARGUMENT", "quantize: src must be a Float32Array or a Uint16Array of f16 bits");
  const int type = info[1].As<Napi::Number>().Int32Value();
  const int64_t rows = info[2].As<Napi::Number>().Int64Value();
  const int64_t perRow = info[3].As<Napi::Number>().Int64Value();
  if (type < 0 || type >= GGML_TYPE_COUNT || ggml_get_type_traits(static_cast<ggml_type>(type))->blck_size == 0 ||
      !ggml_get_type_traits(static_cast<ggml_type>(type))->is_quantized) {
    ThrowError(env, "INVALID_ARGUMENT", "quantize: not a quantized ggml type: " + std::to_string(type));
  }
  const ggml_type t = static_cast<ggml_type>(type);
  if (ggml_quantize_requires_imatrix(t)) ThrowError(env, "INVALID_ARGUMENT", std::string("quantize: ") + ggml_type_name(t) + " needs an importance matrix");
  if (rows < 1 || perRow < 1 || static_cast<size_t>(rows * perRow) != ta.ElementLength()) {
    ThrowError(env, "INVALID_ARGUMENT", "quantize: rows × perRow must equal the number of values");
  }
  if (perRow % ggml_blck_size(t) != 0) {
    ThrowError(env, "INVALID_ARGUMENT", std::string("quantize: ") + ggml_type_name(t) + " needs rows of a multiple of " +
                                            std::to_string(ggml_blck_size(t)) + " values, not " + std::to_string(perRow));
  }
  AddonData* d = Data(env);
  if (!d->micro || d->micro->Stopped()) d->micro = Executor::Create(env, "whisper-perf:micro");
  const uint8_t* base = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  return (new QuantizeJob(env, d->micro, base, ta.ElementLength(), f16, t, rows, perRow))->Queue(env);
}

// ggml's facts about a type: name, block size, bytes per block, quantized or not.
Napi::Value TypeInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) ThrowError(env, "INVALID_ARGUMENT", "typeInfo(type: number)");
  const int type = info[0].As<Napi::Number>().Int32Value();
  if (type < 0 || type >= GGML_TYPE_COUNT || ggml_get_type_traits(static_cast<ggml_type>(type))->blck_size == 0) return env.Null();
  const ggml_type t = static_cast<ggml_type>(type);
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", ggml_type_name(t));
  o.Set("blockSize", static_cast<double>(ggml_blck_size(t)));
  o.Set("typeSize", static_cast<double>(ggml_type_size(t)));
  o.Set("quantized", ggml_get_type_traits(t)->is_quantized);
  o.Set("needsImatrix", ggml_quantize_requires_imatrix(t));
  return o;
}

}  // namespace wp
