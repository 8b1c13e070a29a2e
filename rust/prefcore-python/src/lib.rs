//! The `prefcore._prefcore` extension module. Conversion, GIL release and error
//! mapping only: every algorithm lives in `prefcore-core`.

mod arena;
mod batches;
mod convert;
mod dedup;
mod display;
mod errors;
mod exceptions;
mod formats;
mod glm;
mod listwise;
mod matching;
mod metrics;
mod options;
mod pairs;
mod progress;
mod ratings;
mod simd;
mod streaming;
mod tokenize;

use pyo3::prelude::*;

// Large outputs (millions of pairs) are allocated and freed call after call; mimalloc
// keeps freed pages for reuse where the system allocator returns them to the OS and
// page-faults them back in on every call.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's option enum: milliseconds before freed memory
/// goes back to the OS (default 10). Ten seconds, jemalloc's default decay, keeps a
/// pipeline's buffers mapped from one batch to the next instead of faulting them in
/// again each call.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: setting a mimalloc option is a plain store, valid at any time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 10_000) };
    }
}

#[pymodule]
fn _prefcore(m: &Bound<'_, PyModule>) -> PyResult<()> {
    tune_allocator();
    errors::install_interrupt_check();
    simd::apply_environment()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    exceptions::register_exceptions(m)?;
    m.add_function(wrap_pyfunction!(metrics::evaluate_trec, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::evaluate_grouped, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::pairwise_accuracy, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::calibration, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::correlation, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::compare, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::read_trec_run, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::read_trec_qrels, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(progress::set_progress, m)?)?;
    m.add_function(wrap_pyfunction!(simd::simd_level, m)?)?;
    m.add_function(wrap_pyfunction!(simd::simd_levels, m)?)?;
    m.add_function(wrap_pyfunction!(simd::force_simd_level, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::thread_setting_warning, m)?)?;
    m.add_function(wrap_pyfunction!(dedup::normalize, m)?)?;
    m.add_function(wrap_pyfunction!(dedup::exact, m)?)?;
    m.add_function(wrap_pyfunction!(dedup::degenerate_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(dedup::signatures, m)?)?;
    m.add_function(wrap_pyfunction!(dedup::minhash, m)?)?;
    m.add_function(wrap_pyfunction!(dedup::optimal_bands, m)?)?;
    m.add_function(wrap_pyfunction!(dedup::contamination, m)?)?;
    m.add_function(wrap_pyfunction!(streaming::row_hashes, m)?)?;
    m.add_function(wrap_pyfunction!(streaming::lsh_band_keys, m)?)?;
    m.add_function(wrap_pyfunction!(options::option_vocabularies, m)?)?;
    m.add_class::<options::OptionVocabulary>()?;
    m.add_class::<matching::Neighbours>()?;
    m.add_class::<dedup::Overlaps>()?;
    m.add_class::<dedup::LshBands>()?;
    m.add_class::<listwise::ListwiseWeights>()?;
    m.add_class::<batches::CutTokens>()?;
    m.add_class::<batches::JointSplit>()?;
    m.add_class::<batches::PrefixSharedArrays>()?;
    m.add_class::<batches::SequenceArrays>()?;
    m.add_class::<batches::PairArrays>()?;
    m.add_class::<batches::UnpairedArrays>()?;
    m.add_class::<metrics::EvaluationOut>()?;
    m.add_class::<metrics::SubsetAccuracy>()?;
    m.add_class::<ratings::UnboundedItem>()?;
    m.add_class::<formats::PromptSplit>()?;
    m.add_class::<pairs::PairTable>()?;
    m.add_class::<dedup::NormalizeOptions>()?;
    m.add_class::<dedup::MinHashOptions>()?;
    m.add_class::<streaming::ExactStream>()?;
    m.add_class::<streaming::NearStream>()?;
    m.add_class::<dedup::NearDuplicates>()?;
    m.add_class::<convert::Clusters>()?;
    m.add_class::<tokenize::ByteLevelBpe>()?;
    m.add_function(wrap_pyfunction!(matching::knn, m)?)?;
    m.add_function(wrap_pyfunction!(matching::range_search, m)?)?;
    m.add_function(wrap_pyfunction!(matching::self_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(matching::match_sets, m)?)?;
    m.add_function(wrap_pyfunction!(dedup::clusters_from_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(batches::normalize_tokens, m)?)?;
    m.add_function(wrap_pyfunction!(batches::token_lists, m)?)?;
    m.add_function(wrap_pyfunction!(batches::cut_tokens, m)?)?;
    m.add_function(wrap_pyfunction!(batches::split_joint_tokens, m)?)?;
    m.add_class::<batches::CollateSettings>()?;
    m.add_function(wrap_pyfunction!(batches::collate_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(batches::collate_unpaired, m)?)?;
    m.add_function(wrap_pyfunction!(batches::collate_prefix_shared, m)?)?;
    m.add_function(wrap_pyfunction!(pairs::pairs_from_scores, m)?)?;
    m.add_function(wrap_pyfunction!(formats::extract_prompt, m)?)?;
    m.add_function(wrap_pyfunction!(formats::parse_transcripts, m)?)?;
    m.add_function(wrap_pyfunction!(formats::render_transcripts, m)?)?;
    m.add_function(wrap_pyfunction!(listwise::listwise_weights, m)?)?;
    m.add_function(wrap_pyfunction!(listwise::lipo_batch_weights, m)?)?;
    m.add_function(wrap_pyfunction!(ratings::bt_unbounded_item, m)?)?;
    m.add_function(wrap_pyfunction!(ratings::bradley_terry, m)?)?;
    m.add_function(wrap_pyfunction!(ratings::aggregate_votes, m)?)?;
    m.add_class::<ratings::BradleyTerryFit>()?;
    m.add_function(wrap_pyfunction!(ratings::online_elo, m)?)?;
    m.add_class::<ratings::EloFit>()?;
    m.add_function(wrap_pyfunction!(arena::arena_fit, m)?)?;
    m.add_class::<arena::ArenaFit>()?;
    m.add_function(wrap_pyfunction!(arena::battle_codes, m)?)?;
    m.add_function(wrap_pyfunction!(arena::robust_covariance, m)?)?;
    m.add_class::<arena::BattleCodes>()?;
    m.add_function(wrap_pyfunction!(glm::l1_logistic_cv, m)?)?;
    m.add_class::<glm::L1LogisticFit>()?;
    m.add_class::<pairs::PairCounts>()?;
    m.add_class::<metrics::Calibration>()?;
    m.add_class::<metrics::Comparison>()?;
    m.add_class::<ratings::VoteSummary>()?;
    Ok(())
}
