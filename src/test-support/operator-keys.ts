/**
 * The keys tests sign Auto Scaling API requests with (the SDK client's credentials, and the AWS
 * CLI's through its environment). The emulator accepts any signature for now; once it checks
 * signatures and permissions, these become the operator keys a fleet issues.
 */
export const TEST_OPERATOR_KEYS = {
  accessKeyId: "AKIAMUSTERTESTOPER01",
  secretAccessKey: "muster-test-operator-secret-key-0000000000",
} as const;

export const TEST_REGION = "us-east-1";
