// Starts the Yew app. A file, not an inline script: the content security policy
// (tauri.conf.json) allows scripts from the app itself only.
import init from './krizlink_ui.js';
init();
