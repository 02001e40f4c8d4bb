// whisper_full as a job: the options parsed on the JavaScript thread into a baton, the
// transcription on the target's compute thread, progress and new segments delivered as events.
#pragma once

#include "common.h"
#include "model.h"

namespace wp {

// Parses full(pcm, options, onEvent?) and queues the transcription on `target` (a model, or a
// state when stateSlot is set; a state runs with one processor). Returns the job's promise.
Napi::Value QueueFull(const Napi::CallbackInfo& info, Target* target, Napi::Object holder, whisper_context** ctxSlot,
                      whisper_state** stateSlot);

}  // namespace wp
