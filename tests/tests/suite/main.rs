//! The KrizLink test suite: one binary, one module per area.

mod desktop;
mod node_cli;
mod sync;
