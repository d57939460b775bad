//! Build script: compiles the Tauri context from tauri.conf.json at the repository root.

fn main() {
    let attributes = tauri_build::Attributes::new().config_path("../tauri.conf.json");
    if let Err(e) = tauri_build::try_build(attributes) {
        println!("cargo::error=tauri build failed: {e:#}");
    }
}
