//! Fuzz the Ratify `config.json` loader (stores, policy, verifiers, executor, our `imagegate`
//! section): arbitrary bytes must give a configuration or a `ConfigError`, never a panic.
//! File references resolve against an empty directory, so certificate paths fail cleanly.
#![no_main]

use imagegate_engine::EngineConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let base = std::path::Path::new("/nonexistent-imagegate-fuzz");
    if let Err(err) = EngineConfig::from_json(data, base) {
        // The message must be printable (it is logged on load and reload).
        let _ = err.to_string();
    }
});
