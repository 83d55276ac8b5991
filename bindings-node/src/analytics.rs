//! `Analysis`: journeys as customers took them, checked against the map.
//!
//! An analysis is built once, on the thread pool, from a CSV or Parquet file, a tracker's
//! store, an array of events, or Arrow IPC (an arrow-js `tableToIPC` Buffer); then every
//! measure is a Promise resolving to a plain object with the core's result, field for
//! field as journey-core serialises it (snake_case names, as in ANALYTICS.md, the Python
//! binding and the Arrow tables). `tables(measure, options)` gives the same result as
//! Arrow IPC streams, one per table, for `apache-arrow`'s `tableFromIPC`.

mod options;
mod partial;
mod results;

use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use arrow_array::RecordBatch;
use journey_core::analytics::mapping::ColumnMapping;
use journey_core::analytics::{self, Analysis, AnalysisOptions, IdentityLink, Table, ToTables};
use journey_core::Error;
use napi::bindgen_prelude::{AsyncTask, Buffer, ToNapiValue, TypeName, Unknown};
use napi::{Env, sys};
use napi_derive::napi;
use serde::Serialize;
use serde_json::Value;

use self::options::{
    JsAnalysisOptions, JsEmotionOptions, JsFunnelBreakdownOptions, JsFunnelOptions, JsGrayAreasOptions, JsHypothesisOptions, JsKeyMomentsOptions,
    JsPathsOptions, JsReportOptions, JsTransitionsOptions,
};
use crate::convert;
use crate::error::guard;
use crate::map::JsMapDocument;
use crate::task::Job;
use crate::tracker::{JsTracker, read_options};

/// A result as the core serialises it, handed to JavaScript as a plain object.
pub struct Json(Value);

impl TypeName for Json {
    fn type_name() -> &'static str {
        "Object"
    }

    fn value_type() -> napi::ValueType {
        napi::ValueType::Object
    }
}

impl ToNapiValue for Json {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        // SAFETY: called by napi on the main thread with its environment.
        unsafe { Value::to_napi_value(env, val.0) }
    }
}

fn json<T: Serialize>(result: &T) -> Json {
    // Results are plain data: serde_json turns them into a Value without failing (a
    // non-finite float would become null).
    Json(serde_json::to_value(result).unwrap_or(Value::Null))
}

/// One table of a result as an Arrow IPC stream: `tableFromIPC(t.ipc)` reads it.
#[napi(object, js_name = "ArrowTable", object_from_js = false)]
pub struct JsArrowTable {
    /// The table's name (e.g. `funnel_steps`).
    pub name: String,
    /// The table as an Arrow IPC stream (schema metadata `options`: the JSON of the
    /// options the result was computed with).
    pub ipc: Buffer,
}

/// A table as an Arrow IPC stream.
fn ipc(table: &Table) -> Result<JsArrowTable, Error> {
    let batch = table.to_record_batch()?;
    let mut out = Vec::new();
    let arrow = |e: arrow_schema::ArrowError| Error::Storage { message: format!("writing the table {} as Arrow IPC: {e}", table.name), source: None };
    let mut writer = arrow_ipc::writer::StreamWriter::try_new(&mut out, &batch.schema()).map_err(arrow)?;
    writer.write(&batch).map_err(arrow)?;
    writer.finish().map_err(arrow)?;
    drop(writer);
    Ok(JsArrowTable { name: table.name.clone(), ipc: out.into() })
}

/// Record batches from an Arrow IPC stream or file (`argument` names it in errors).
fn read_ipc(argument: &str, bytes: &[u8]) -> Result<Vec<RecordBatch>, Error> {
    let bad = |e: arrow_schema::ArrowError| Error::parse(argument, format!("not an Arrow IPC stream or file: {e}"));
    if bytes.starts_with(b"ARROW1") {
        let reader = arrow_ipc::reader::FileReader::try_new(std::io::Cursor::new(bytes), None).map_err(bad)?;
        return reader.collect::<Result<Vec<_>, _>>().map_err(bad);
    }
    let reader = arrow_ipc::reader::StreamReader::try_new(bytes, None).map_err(bad)?;
    reader.collect::<Result<Vec<_>, _>>().map_err(bad)
}

/// A measure and its options, read on the main thread.
enum Measure {
    Stitch,
    Reach,
    ReachByPersona,
    Funnel(analytics::FunnelOptions),
    FunnelBreakdown(analytics::FunnelOptions, analytics::Breakdown),
    Transitions(Vec<analytics::NameLevel>),
    Paths(analytics::PathsOptions),
    Emotion(analytics::EmotionOptions),
    EmotionByPersona(analytics::EmotionOptions),
    GrayAreas(analytics::GrayAreasOptions),
    Conformance,
    KeyMoments(analytics::KeyMomentsOptions),
    Hypotheses(analytics::HypothesisOptions),
    Report(analytics::ReportOptions),
}

/// The measures `tables` knows, as JavaScript names them.
const MEASURES: &str = "'stitch', 'reach', 'reachByPersona', 'funnel', 'funnelBreakdown', 'transitions', 'paths', 'emotion', 'emotionByPersona', 'grayAreas', 'conformance', 'keyMoments', 'hypotheses'";

impl Measure {
    /// Reads a measure's options (`E_PARSE` naming the field).
    fn parse(name: &str, options: Option<Unknown<'_>>) -> Result<Measure, Error> {
        Ok(match name {
            "stitch" => Measure::Stitch,
            "reach" => Measure::Reach,
            "reachByPersona" => Measure::ReachByPersona,
            "funnel" => Measure::Funnel(required::<JsFunnelOptions>(options)?.to_core()?),
            "funnelBreakdown" => {
                let (f, by) = required::<JsFunnelBreakdownOptions>(options)?.to_core()?;
                Measure::FunnelBreakdown(f, by)
            }
            "transitions" => Measure::Transitions(read_options::<JsTransitionsOptions>("options", options)?.to_core()),
            "paths" => Measure::Paths(read_options::<JsPathsOptions>("options", options)?.to_core()),
            "emotion" => Measure::Emotion(read_options::<JsEmotionOptions>("options", options)?.to_core()),
            "emotionByPersona" => Measure::EmotionByPersona(read_options::<JsEmotionOptions>("options", options)?.to_core()),
            "grayAreas" => Measure::GrayAreas(read_options::<JsGrayAreasOptions>("options", options)?.to_core()?),
            "conformance" => Measure::Conformance,
            "keyMoments" => Measure::KeyMoments(read_options::<JsKeyMomentsOptions>("options", options)?.to_core()),
            "hypotheses" => Measure::Hypotheses(read_options::<JsHypothesisOptions>("options", options)?.to_core()),
            "report" => Measure::Report(read_options::<JsReportOptions>("options", options)?.to_core()?),
            other => return Err(Error::parse("measure", format!("unknown measure {other:?}: expected one of {MEASURES}"))),
        })
    }

    /// Computes it: the result as a plain object, or its tables.
    fn run(&self, a: &Analysis, tables: bool) -> Result<Output, Error> {
        fn out<T: Serialize + ToTables>(r: &T, tables: bool) -> Result<Output, Error> {
            if tables { Ok(Output::Tables(r.to_tables().iter().map(ipc).collect::<Result<_, _>>()?)) } else { Ok(Output::Value(json(r))) }
        }
        match self {
            Measure::Stitch => out(&a.stitch_summary(), tables),
            Measure::Reach => out(&a.reach(), tables),
            Measure::ReachByPersona => out(&a.reach_by_persona(), tables),
            Measure::Funnel(o) => out(&a.funnel(o)?, tables),
            Measure::FunnelBreakdown(o, by) => out(&a.funnel_breakdown(o, by)?, tables),
            Measure::Transitions(levels) => out(&a.transitions(levels), tables),
            Measure::Paths(o) => out(&a.paths(o), tables),
            Measure::Emotion(o) => out(&a.emotion(o), tables),
            Measure::EmotionByPersona(o) => out(&a.emotion_by_persona(o), tables),
            Measure::GrayAreas(o) => out(&a.gray_areas(o), tables),
            Measure::Conformance => out(&a.conformance(), tables),
            Measure::KeyMoments(o) => out(&a.key_moments(o)?, tables),
            Measure::Hypotheses(o) => out(&a.hypotheses(o)?, tables),
            Measure::Report(o) if !tables => Ok(Output::Value(json(&a.report(o)?))),
            Measure::Report(_) => Err(Error::parse("measure", format!("the report has no tables of its own: ask for its parts, one of {MEASURES}"))),
        }
    }
}

/// Options that must be given: `E_PARSE` (`path` `options`) when missing.
fn required<T: serde::de::DeserializeOwned + Default>(options: Option<Unknown<'_>>) -> Result<T, Error> {
    if options.as_ref().is_none_or(convert::is_nullish) {
        return Err(Error::parse("options", "this measure needs its options"));
    }
    read_options::<T>("options", options)
}

enum Output {
    Value(Json),
    Tables(Vec<JsArrowTable>),
}

/// Computes a measure on the thread pool and resolves to its plain object.
fn measure(analysis: &Shared, name: &str, options: Option<Unknown<'_>>) -> AsyncTask<Job<Json>> {
    let prepared = Measure::parse(name, options);
    let a = analysis.clone();
    Job::spawn(move || match prepared?.run(&read(&a), false)? {
        Output::Value(v) => Ok(v),
        Output::Tables(_) => Err(Error::parse("measure", "expected a value")),
    })
}

/// The options of a source, checked (`columns` only where the input has columns).
fn source_options(options: Option<Unknown<'_>>, columns_allowed: bool) -> Result<JsAnalysisOptions, Error> {
    let o = read_options::<JsAnalysisOptions>("options", options)?;
    if o.columns.is_some() && !columns_allowed {
        return Err(Error::parse("columns", "a column mapping applies to Arrow and Parquet input only"));
    }
    Ok(o)
}

/// An analysis shared with the measures running on the thread pool; written only by
/// `assignPersonas` and `setAttributes`.
type Shared = Arc<RwLock<Analysis>>;

/// The analysis, for a measure or a getter (a panic elsewhere leaves it usable: its
/// writers only add assignments).
fn read(analysis: &Shared) -> RwLockReadGuard<'_, Analysis> {
    analysis.read().unwrap_or_else(PoisonError::into_inner)
}

/// The analysis, to assign personas or set attributes.
fn write(analysis: &Shared) -> RwLockWriteGuard<'_, Analysis> {
    analysis.write().unwrap_or_else(PoisonError::into_inner)
}

/// A built analysis, resolved to JavaScript as an `Analysis` instance.
fn spawn_analysis(work: impl FnOnce() -> Result<Analysis, Error> + Send + 'static) -> AsyncTask<Job<JsAnalysis>> {
    Job::spawn(move || Ok(JsAnalysis { inner: Arc::new(RwLock::new(work()?)) }))
}

/// Event batches under the default names, link batches, and the resolved mapping (`None`
/// without any batch).
type Mapped = (Vec<RecordBatch>, Vec<RecordBatch>, Option<analytics::mapping::Resolved>);

/// Batches under the default names (and the links of rows with several keys) for a
/// column mapping; the resolved mapping explains errors in the source's column names.
fn mapped(batches: Vec<RecordBatch>, mapping: &ColumnMapping) -> Result<Mapped, Error> {
    let Some(first) = batches.first() else { return Ok((batches, Vec::new(), None)) };
    let resolved = mapping.resolve(first.schema_ref())?;
    let (events, links) = resolved.apply_all(&batches)?;
    Ok((events, links, Some(resolved)))
}

/// An analysis session: events stitched into journeys and checked against a map, built
/// once by one of the static `from...` functions (on the thread pool). Every measure
/// returns a Promise and runs on the thread pool; results are plain objects with the
/// core's field names (snake_case) and carry the options they were computed with.
///
/// Measures reject with `E_PARSE` (`path` naming the option) for a bad option,
/// `E_NOT_FOUND` for an unknown touchpoint or phase in an option, `E_BAD_EVENT` for a
/// funnel that cannot be computed (e.g. too many steps).
#[napi(js_name = "Analysis")]
pub struct JsAnalysis {
    inner: Shared,
}

#[napi]
impl JsAnalysis {
    /// An analysis of a CSV file of events (header names the columns: `ts`, `seq`,
    /// `customer_key` or `key`, `event`, `channel`, `department`, `csat` / `nps` /
    /// `rating`; other columns are event properties) and, optionally, a CSV file of
    /// identity links (`key_a`, `key_b`, `ts`).
    ///
    /// Rejects with `E_IO` (`path`) for a missing file, `E_PARSE` (`path` `line N`) for a
    /// bad line, `E_NOT_FOUND` for an unknown `options.map`, `E_PARSE` for a bad option.
    #[napi(catch_unwind, ts_return_type = "Promise<Analysis>")]
    pub fn from_csv(#[napi(ts_arg_type = "MapDocument")] doc: &JsMapDocument, events: String, links: Option<String>, #[napi(ts_arg_type = "AnalysisOptions")] options: Option<Unknown<'_>>) -> AsyncTask<Job<JsAnalysis>> {
        let doc = doc.inner().clone();
        let prepared = source_options(options, false);
        spawn_analysis(move || {
            let o = prepared?.to_core(AnalysisOptions::default());
            let events = analytics::csv::read_events(&events)?;
            let links = match links {
                Some(path) => analytics::csv::read_links(&path)?,
                None => Vec::new(),
            };
            Analysis::from_events_and_links(&doc, &events, &links, o)
        })
    }

    /// An analysis of a Parquet file of events (the columns of `fromCsv`, or any names
    /// with `options.columns`) and, optionally, a Parquet file of identity links
    /// (`key_a`, `key_b`, `ts`).
    ///
    /// Rejects with `E_IO` (`path`) for a missing file, `E_BAD_EVENT` (`field` the
    /// column) for a missing or mistyped column, `E_STORAGE` for a file that is not
    /// Parquet, `E_PARSE` for a bad option.
    #[napi(catch_unwind, ts_return_type = "Promise<Analysis>")]
    pub fn from_parquet(#[napi(ts_arg_type = "MapDocument")] doc: &JsMapDocument, events: String, links: Option<String>, #[napi(ts_arg_type = "AnalysisOptions")] options: Option<Unknown<'_>>) -> AsyncTask<Job<JsAnalysis>> {
        let doc = doc.inner().clone();
        let prepared = source_options(options, true);
        spawn_analysis(move || {
            let js = prepared?;
            let o = js.to_core(AnalysisOptions::default());
            let links = links.map(|p| analytics::parquet::read_links(Path::new(&p))).transpose()?.unwrap_or_default();
            match &js.columns {
                None => {
                    let batches = analytics::parquet::read_events(Path::new(&events))?;
                    Analysis::from_record_batches(&doc, &batches, &links, o)
                }
                Some(mapping) => {
                    let (batches, mut extra, resolved) = analytics::mapping::read_parquet(Path::new(&events), mapping)?;
                    extra.extend(links);
                    Analysis::from_record_batches(&doc, &batches, &extra, o).map_err(|e| resolved.explain(e))
                }
            }
        })
    }

    /// An analysis of events given as objects (the `JourneyEvent`s `track` takes; an
    /// event's `seq` is its position) and, optionally, identity links made apart from
    /// events (`{a, b, ts}`).
    ///
    /// Rejects with `E_BAD_EVENT` (`index`, `field`) for a bad event, `E_PARSE` (`path`
    /// e.g. `links[2].a`) for a bad link or option.
    #[napi(catch_unwind, ts_return_type = "Promise<Analysis>")]
    pub fn from_events(
        #[napi(ts_arg_type = "MapDocument")] doc: &JsMapDocument,
        #[napi(ts_arg_type = "Array<JourneyEvent>")] events: Vec<Unknown<'_>>,
        #[napi(ts_arg_type = "Array<{ a: string, b: string, ts: number | bigint | Date }> | null")] links: Option<Vec<Unknown<'_>>>,
        #[napi(ts_arg_type = "AnalysisOptions")] options: Option<Unknown<'_>>,
    ) -> AsyncTask<Job<JsAnalysis>> {
        let doc = doc.inner().clone();
        let prepared = (|| -> Result<_, Error> {
            let o = source_options(options, false)?.to_core(AnalysisOptions::default());
            let events = events.into_iter().enumerate().map(|(i, e)| crate::event::from_js(e, Some(i))).collect::<Result<Vec<_>, _>>()?;
            let links = links.unwrap_or_default().into_iter().enumerate().map(|(i, l)| link(i, l)).collect::<Result<Vec<_>, _>>()?;
            Ok((o, events, links))
        })();
        spawn_analysis(move || {
            let (o, events, links) = prepared?;
            Analysis::from_events_and_links(&doc, &events, &links, o)
        })
    }

    /// An analysis of Arrow IPC data (a stream, as arrow-js `tableToIPC` writes by
    /// default, or a file): columns by their default names (those of `fromCsv`) or by
    /// `options.columns`; other columns are event properties. `links`, if given, is Arrow
    /// IPC with `key_a`, `key_b`, `ts`.
    ///
    /// Rejects with `E_PARSE` (`path` `events` or `links`) for bytes that are not Arrow
    /// IPC, `E_BAD_EVENT` (`field` the column) for a missing or mistyped column, `E_PARSE`
    /// for a bad option.
    #[napi(catch_unwind, ts_return_type = "Promise<Analysis>")]
    pub fn from_arrow(#[napi(ts_arg_type = "MapDocument")] doc: &JsMapDocument, events: Buffer, links: Option<Buffer>, #[napi(ts_arg_type = "AnalysisOptions")] options: Option<Unknown<'_>>) -> AsyncTask<Job<JsAnalysis>> {
        let doc = doc.inner().clone();
        let prepared = source_options(options, true);
        let events: Vec<u8> = events.to_vec();
        let links: Option<Vec<u8>> = links.map(|b| b.to_vec());
        spawn_analysis(move || {
            let js = prepared?;
            let o = js.to_core(AnalysisOptions::default());
            let batches = read_ipc("events", &events)?;
            let mut link_batches = links.map(|b| read_ipc("links", &b)).transpose()?.unwrap_or_default();
            match &js.columns {
                None => Analysis::from_record_batches(&doc, &batches, &link_batches, o),
                Some(mapping) => {
                    let (batches, extra, resolved) = mapped(batches, mapping)?;
                    link_batches.extend(extra);
                    let result = Analysis::from_record_batches(&doc, &batches, &link_batches, o);
                    result.map_err(|e| match &resolved {
                        Some(r) => r.explain(e),
                        None => e,
                    })
                }
            }
        })
    }

    /// An analysis of everything a tracker's store holds (memory or SQLite): its events
    /// in journey order, the explicit links of its link log, the personas and attributes
    /// of its profiles; with the tracker's map and identity rules unless `options` says
    /// otherwise.
    ///
    /// Rejects with `E_CLOSED` for a closed tracker, `E_STORAGE`, `E_PARSE` for a bad
    /// option.
    #[napi(catch_unwind, ts_return_type = "Promise<Analysis>")]
    pub fn from_tracker(#[napi(ts_arg_type = "Tracker")] tracker: &JsTracker, #[napi(ts_arg_type = "AnalysisOptions")] options: Option<Unknown<'_>>) -> AsyncTask<Job<JsAnalysis>> {
        let prepared = (|| -> Result<_, Error> { Ok((tracker.core()?, tracker.document(), source_options(options, false)?)) })();
        spawn_analysis(move || {
            let (tracker, doc, js) = prepared?;
            let o = js.to_core(AnalysisOptions::like_tracker(tracker.config()));
            Analysis::from_store(&doc, tracker.store().as_ref(), o)
        })
    }

    /// The number of journeys (profiles with events).
    #[napi(getter, catch_unwind)]
    pub fn journeys(&self) -> u32 {
        read(&self.inner).len() as u32
    }

    /// The number of events.
    #[napi(getter, catch_unwind)]
    pub fn events(&self) -> u32 {
        read(&self.inner).table().len() as u32
    }

    /// The canonical key (the smallest key of its profile) of a key's profile, or `null`
    /// for a key never seen. Runs on the calling thread (a lookup).
    #[napi(catch_unwind)]
    pub fn profile_of(&self, key: String) -> Option<String> {
        read(&self.inner).profile_of(&key).map(str::to_string)
    }

    /// Assigns personas to keys explicitly, `{key: personaId}`: a journey takes the persona
    /// of a key of its profile, before the personas' `assign_when` rules. The measures by
    /// persona (`reachByPersona`, `emotionByPersona`) called afterwards see it. Runs on the
    /// calling thread (waiting for measures already running).
    ///
    /// @throws {Error} `E_PARSE` (`path` `assignments.<key>`) for a value that is not a
    /// string.
    #[napi(catch_unwind)]
    pub fn assign_personas(&self, env: &Env, #[napi(ts_arg_type = "Record<string, string>")] assignments: Unknown<'_>) -> napi::Result<()> {
        guard(env, || {
            let pairs = per_key(assignments, "assignments", "a persona is a string, the id of a persona of the map", |v| match v {
                Value::String(p) => Some(p),
                _ => None,
            })?;
            write(&self.inner).assign_personas(pairs);
            Ok(())
        })
    }

    /// Gives keys attributes, `{key: {name: value}}` (merged into those they have), tested
    /// by the personas' `assign_when` rules and used by `funnelBreakdown` with
    /// `by: {attribute: name}`. Runs on the calling thread (waiting for measures already
    /// running).
    ///
    /// @throws {Error} `E_PARSE` (`path` `attributes.<key>`) for a value that is not an
    /// object, or an attribute that has no JSON form.
    #[napi(catch_unwind)]
    pub fn set_attributes(&self, env: &Env, #[napi(ts_arg_type = "Record<string, Record<string, unknown>>")] attributes: Unknown<'_>) -> napi::Result<()> {
        guard(env, || {
            let all = per_key(attributes, "attributes", "the attributes of a key are an object {name: value}", |v| match v {
                Value::Object(m) => Some(m),
                _ => None,
            })?;
            write(&self.inner).set_attributes(all);
            Ok(())
        })
    }

    /// The id of the map journeys are checked against.
    #[napi(getter, catch_unwind)]
    pub fn map_id(&self) -> String {
        read(&self.inner).map().id.clone()
    }

    /// The event properties kept (for `funnelBreakdown` with `by: {property: name}`).
    #[napi(getter, catch_unwind)]
    pub fn properties(&self) -> Vec<String> {
        read(&self.inner).properties().names().iter().map(|s| s.to_string()).collect()
    }

    /// The stitch measure: keys, profiles, journeys, largest profile, conflicts.
    #[napi(catch_unwind, ts_return_type = "Promise<StitchResult>")]
    pub fn stitch_summary(&self) -> AsyncTask<Job<Json>> {
        measure(&self.inner, "stitch", None)
    }

    /// Phase reach: journeys reaching each phase, and from the previous one.
    #[napi(catch_unwind, ts_return_type = "Promise<ReachResult>")]
    pub fn reach(&self) -> AsyncTask<Job<Json>> {
        measure(&self.inner, "reach", None)
    }

    /// Phase reach per persona, each over its own journeys.
    #[napi(catch_unwind, ts_return_type = "Promise<ReachByPersona>")]
    pub fn reach_by_persona(&self) -> AsyncTask<Job<Json>> {
        measure(&self.inner, "reachByPersona", None)
    }

    /// A funnel: journeys through ordered steps within a window, where they stopped,
    /// time to convert.
    #[napi(catch_unwind, ts_return_type = "Promise<FunnelResult>")]
    pub fn funnel(&self, #[napi(ts_arg_type = "FunnelOptions")] options: Unknown<'_>) -> AsyncTask<Job<Json>> {
        measure(&self.inner, "funnel", Some(options))
    }

    /// A funnel broken down by persona, channel, first touchpoint, event property or
    /// profile attribute.
    #[napi(catch_unwind, ts_return_type = "Promise<FunnelBreakdown>")]
    pub fn funnel_breakdown(&self, #[napi(ts_arg_type = "FunnelBreakdownOptions")] options: Unknown<'_>) -> AsyncTask<Job<Json>> {
        measure(&self.inner, "funnelBreakdown", Some(options))
    }

    /// Transitions between consecutive events, at the levels asked (default all three).
    #[napi(catch_unwind, ts_return_type = "Promise<TransitionsResult>")]
    pub fn transitions(&self, #[napi(ts_arg_type = "TransitionsOptions")] options: Option<Unknown<'_>>) -> AsyncTask<Job<Json>> {
        measure(&self.inner, "transitions", options)
    }

    /// The most common paths.
    #[napi(catch_unwind, ts_return_type = "Promise<PathsResult>")]
    pub fn paths(&self, #[napi(ts_arg_type = "PathsOptions")] options: Option<Unknown<'_>>) -> AsyncTask<Job<Json>> {
        measure(&self.inner, "paths", options)
    }

    /// Emotion per touchpoint, phase and journey, against the planned emotion.
    #[napi(catch_unwind, ts_return_type = "Promise<EmotionReport>")]
    pub fn emotion(&self, #[napi(ts_arg_type = "EmotionOptions")] options: Option<Unknown<'_>>) -> AsyncTask<Job<Json>> {
        measure(&self.inner, "emotion", options)
    }

    /// Emotion per persona, each over its own journeys.
    #[napi(catch_unwind, ts_return_type = "Promise<EmotionByPersona>")]
    pub fn emotion_by_persona(&self, #[napi(ts_arg_type = "EmotionOptions")] options: Option<Unknown<'_>>) -> AsyncTask<Job<Json>> {
        measure(&self.inner, "emotionByPersona", options)
    }

    /// Gray areas: department handoffs and channel switches, with their drop rate and
    /// change of emotion.
    #[napi(catch_unwind, ts_return_type = "Promise<GrayAreasResult>")]
    pub fn gray_areas(&self, #[napi(ts_arg_type = "GrayAreasOptions")] options: Option<Unknown<'_>>) -> AsyncTask<Job<Json>> {
        measure(&self.inner, "grayAreas", options)
    }

    /// Conformance to the map: fitness, deviations, per touchpoint.
    #[napi(catch_unwind, ts_return_type = "Promise<ConformanceResult>")]
    pub fn conformance(&self) -> AsyncTask<Job<Json>> {
        measure(&self.inner, "conformance", None)
    }

    /// Key moments: touchpoints where a bad rating changes the outcome most.
    #[napi(catch_unwind, ts_return_type = "Promise<KeyMomentsResult>")]
    pub fn key_moments(&self, #[napi(ts_arg_type = "KeyMomentsOptions")] options: Option<Unknown<'_>>) -> AsyncTask<Job<Json>> {
        measure(&self.inner, "keyMoments", options)
    }

    /// The hypothesis report: every assumption of the map (planned emotion, key moments,
    /// channels, owners, phase order) with a verdict from the evidence.
    #[napi(catch_unwind, ts_return_type = "Promise<HypothesisReport>")]
    pub fn hypotheses(&self, #[napi(ts_arg_type = "HypothesisOptions")] options: Option<Unknown<'_>>) -> AsyncTask<Job<Json>> {
        measure(&self.inner, "hypotheses", options)
    }

    /// The short report: stitching, reach, the funnel, the worst gray areas and the
    /// hypothesis report.
    #[napi(catch_unwind, ts_return_type = "Promise<AnalyticsReport>")]
    pub fn report(&self, #[napi(ts_arg_type = "ReportOptions")] options: Option<Unknown<'_>>) -> AsyncTask<Job<Json>> {
        measure(&self.inner, "report", options)
    }

    /// The short report as text, ready to print.
    #[napi(catch_unwind, ts_return_type = "Promise<string>")]
    pub fn report_text(&self, #[napi(ts_arg_type = "ReportOptions")] options: Option<Unknown<'_>>) -> AsyncTask<Job<String>> {
        let prepared = read_options::<JsReportOptions>("options", options).and_then(|o| o.to_core());
        let a = self.inner.clone();
        Job::spawn(move || Ok(read(&a).report(&prepared?)?.to_text()))
    }

    /// A measure's tables as Arrow IPC streams (the first is the main one): `measure` is
    /// the method's name (`'funnel'`, `'grayAreas'`...; `'stitch'` for `stitchSummary`)
    /// and `options` its options.
    ///
    /// Rejects with `E_PARSE` (`path` `measure`) for an unknown measure or the report,
    /// and like the measure itself.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<ArrowTable>>")]
    pub fn tables(
        &self,
        #[napi(ts_arg_type = "'stitch' | 'reach' | 'reachByPersona' | 'funnel' | 'funnelBreakdown' | 'transitions' | 'paths' | 'emotion' | 'emotionByPersona' | 'grayAreas' | 'conformance' | 'keyMoments' | 'hypotheses'")]
        measure: String,
        #[napi(ts_arg_type = "FunnelOptions | FunnelBreakdownOptions | TransitionsOptions | PathsOptions | EmotionOptions | GrayAreasOptions | KeyMomentsOptions | HypothesisOptions")]
        options: Option<Unknown<'_>>,
    ) -> AsyncTask<Job<Vec<JsArrowTable>>> {
        let prepared = Measure::parse(&measure, options);
        let a = self.inner.clone();
        Job::spawn(move || match prepared?.run(&read(&a), true)? {
            Output::Tables(t) => Ok(t),
            Output::Value(_) => Err(Error::parse("measure", "expected tables")),
        })
    }

    /// A partial state of the measures chosen in `options` (the core's `PartialOptions`,
    /// snake_case keys, e.g. `{reach: true, funnels: [{steps: [['view'], ['buy']]}]}`) over
    /// this analysis' journeys, to merge with the states of the other parts of the data
    /// (each part holding whole journeys) and finish: see `Partials`.
    ///
    /// Rejects with `E_PARSE` (`path` naming the option, e.g. `paths.kk` or
    /// `quantiles.relative_accuracy`) for a bad option, and like the measures themselves
    /// (`E_NOT_FOUND` for an unknown touchpoint in a funnel...).
    #[napi(catch_unwind, ts_return_type = "Promise<Partials>")]
    pub fn partials(&self, #[napi(ts_arg_type = "PartialOptions")] options: Unknown<'_>) -> AsyncTask<Job<partial::JsPartials>> {
        let prepared = partial::options(Some(options));
        let a = self.inner.clone();
        Job::spawn(move || Ok(partial::JsPartials::new(read(&a).partials(&prepared?)?)))
    }

    /// The measures chosen in `options` in one pass over this analysis: what
    /// `Partials.finish` gives for any split of these journeys (with a quantile sketch, the
    /// same estimates).
    ///
    /// Rejects like `partials`.
    #[napi(catch_unwind, ts_return_type = "Promise<PartialResults>")]
    pub fn results(&self, #[napi(ts_arg_type = "PartialOptions")] options: Unknown<'_>) -> AsyncTask<Job<Json>> {
        let prepared = partial::options(Some(options));
        let a = self.inner.clone();
        Job::spawn(move || Ok(partial::results(&read(&a).results(&prepared?)?)))
    }

    /// One row per journey as an Arrow IPC stream: profile, persona, events, first and
    /// last time, duration, first / furthest / last phase, phases reached, off-map events,
    /// ratings and the lowest, last and mean rating.
    #[napi(catch_unwind, ts_return_type = "Promise<ArrowTable>")]
    pub fn journey_table(&self) -> AsyncTask<Job<JsArrowTable>> {
        let a = self.inner.clone();
        Job::spawn(move || ipc(&read(&a).journey_table()))
    }
}

/// The entries of a `{key: value}` object argument named `name`, each value converted by
/// `value`; `E_PARSE` naming `name.<key>` with `expected` for a value it refuses.
fn per_key<T>(object: Unknown<'_>, name: &str, expected: &str, value: impl Fn(Value) -> Option<T>) -> Result<Vec<(String, T)>, Error> {
    let object = convert::object_to_json(object).map_err(|b| b.within(name).into_parse())?;
    object.into_iter().map(|(key, v)| value(v).map(|t| (key.clone(), t)).ok_or_else(|| Error::parse(format!("{name}.{key}"), expected))).collect()
}

/// An identity link `{a, b, ts}` of `fromEvents` (`E_PARSE` naming `links[i].field`).
fn link(i: usize, value: Unknown<'_>) -> Result<IdentityLink, Error> {
    let at = |field: &str| format!("links[{i}]{}", if field.is_empty() { String::new() } else { format!(".{field}") });
    let js = convert::Js::of(&value);
    let object = convert::to_json(value).map_err(|b| Error::parse(at(&b.path), b.message))?;
    let Some(Value::Object(map)) = object else { return Err(Error::parse(at(""), "a link is an object {a, b, ts}")) };
    if let Some(extra) = map.keys().find(|k| !matches!(k.as_str(), "a" | "b" | "ts")) {
        return Err(Error::parse(at(extra), "unknown field: a link has a, b and ts"));
    }
    let key = |field: &str| -> Result<journey_core::IdentityKey, Error> {
        let text = map.get(field).and_then(Value::as_str).ok_or_else(|| Error::parse(at(field), "expected an identity key kind:value"))?;
        crate::identity::key(&at(field), text)
    };
    let ts = js.named(c"ts").map_err(|m| Error::parse(at("ts"), m)).and_then(|v| convert::micros_of(v).map_err(|b| Error::parse(at("ts"), b.message)))?;
    Ok(IdentityLink { a: key("a")?, b: key("b")?, ts })
}

/// Turns a bench design (`design.json` of the benchmark kit) into a map document, so
/// that its data can be analysed against it.
///
/// @throws {Error} `E_PARSE` with `path` for a malformed design.
#[napi(catch_unwind, ts_return_type = "MapDocument")]
pub fn from_bench_design(env: &napi::Env, text: String) -> napi::Result<JsMapDocument> {
    guard(env, || Ok(JsMapDocument::from(analytics::from_bench_design(&text)?)))
}

#[cfg(test)]
mod tests;
