//! The settings loader on any TOML text and command-line overrides: it never
//! panics; what it accepts passes `validate`, carries the overrides, and
//! loads back to the same settings when written out as TOML again.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::settings::{Overrides, Settings, SettingsError};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // `toml NUL listen NUL database_url`: the overrides, when given.
    let mut fields = text.split('\0');
    let toml_text = fields.next().unwrap_or_default();
    let overrides =
        Overrides { listen: fields.next().map(str::to_string), database_url: fields.next().map(str::to_string) };

    match Settings::from_toml(toml_text, &overrides) {
        Ok(settings) => {
            settings.validate().expect("loaded settings are valid");
            if let Some(listen) = &overrides.listen {
                assert_eq!(&settings.listen, listen);
            }
            if let Some(url) = &overrides.database_url {
                assert_eq!(&settings.database_url, url);
            }
            let written = toml::to_string(&settings).expect("settings serialise as TOML");
            let reloaded = Settings::from_toml(&written, &Overrides::default())
                .unwrap_or_else(|e| panic!("written settings do not load: {e}\n{written}"));
            assert_eq!(serde_json::to_value(&reloaded).unwrap(), serde_json::to_value(&settings).unwrap(), "{written}");
        }
        Err(SettingsError::Invalid { key, message }) => {
            assert!(!key.is_empty() && !message.is_empty());
        }
        Err(SettingsError::Load(error)) => {
            assert!(!error.to_string().is_empty());
        }
    }
});
