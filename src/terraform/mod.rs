//! Terraform itself: its commands, turning a request into invocations, running them, init.

pub mod binary;
pub mod cli_args;
pub mod command_table;
pub mod executor;
pub mod init_stamp;
pub mod invocation;
pub mod plan_file;
pub mod plugin_cache;
pub mod quote;
pub mod resolve;
pub mod signals;

use init_stamp::InitRecord;
use resolve::Plan;

/// One stack's resolved work, the record of its init, and the binary that runs it.
pub struct Prepared {
    pub plan: Plan,
    pub record: InitRecord,
    pub binary: binary::Binary,
    /// The workspace terraform will use (`TF_WORKSPACE`, else the data dir's record, else
    /// `default`), or why tfw cannot tell.
    pub workspace: Result<String, String>,
    /// The provider plugin cache its init uses, if any.
    pub plugin_cache: Option<plugin_cache::PluginCache>,
}
