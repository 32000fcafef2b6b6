// Removes the package's dist/ before a build, so that a file deleted from
// src/ never lingers in a packed tarball. Run from the package's folder.
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
