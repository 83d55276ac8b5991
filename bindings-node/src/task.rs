//! Work that runs on the libuv thread pool and settles a Promise.

use napi::bindgen_prelude::{AsyncTask, ToNapiValue, TypeName};
use napi::{Env, Task};

use crate::error::{Failure, caught};

type Work<T> = Box<dyn FnOnce() -> journey_core::Result<T> + Send>;

/// A core call run on the thread pool: its value resolves the Promise; its error (or a
/// panic, as `E_INTERNAL`) rejects it with the same `Error` the synchronous calls throw.
///
/// Arguments are converted on the main thread before the work is queued; a conversion
/// error is carried into the work, so the Promise rejects rather than the call throwing.
pub struct Job<T: Send + 'static> {
    work: Option<Work<T>>,
}

impl<T: ToNapiValue + TypeName + Send + 'static> Job<T> {
    /// Queues `work` on the thread pool (once the returned task reaches JavaScript).
    pub(crate) fn spawn(work: impl FnOnce() -> journey_core::Result<T> + Send + 'static) -> AsyncTask<Job<T>> {
        AsyncTask::new(Job { work: Some(Box::new(work)) })
    }
}

impl<T: ToNapiValue + TypeName + Send + 'static> Task for Job<T> {
    type Output = Result<T, Failure>;
    type JsValue = T;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        Ok(match self.work.take() {
            Some(work) => caught(work),
            None => Err(Failure::Panic("a task of the binding ran twice".into())),
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<T> {
        output.map_err(|failure| failure.to_js(&env))
    }
}
