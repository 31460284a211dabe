export * from "./metadata.js";
