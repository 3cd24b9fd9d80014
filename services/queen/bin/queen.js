#!/usr/bin/env node
import '../dist/queen.bundle.mjs';
