//! What Access Analyzer keeps, every statement on its tables: policy generation jobs
//! (`generations`) and analyzers with the statuses set on their findings (`analyzers`).
//! Nothing here imports a handler module.

pub(crate) mod analyzers;
pub(crate) mod generations;
