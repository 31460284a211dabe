// The micro command's version, shown by --version and GET / on the gateways.
export const VERSION = "0.1.0";
