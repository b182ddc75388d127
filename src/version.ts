/** The build version string (owns: the one place it is set). `/v1/version` and `-version` print it. */
export const VERSION = "0.1.0";
