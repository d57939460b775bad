//! The KrizLink test suite: one binary, one module per area.

mod adversary;
mod authority;
mod desktop;
mod e2e;
mod exercise;
mod node_cli;
mod relays;
mod screens;
mod strangers;
mod sync;
