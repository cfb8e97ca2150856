// Package testutil holds the helpers inferd's tests share: the repository
// root, the shared fixtures, the inferd binary built once per test binary,
// small ONNX models, file trees and archives, and JSON comparisons.
package testutil
