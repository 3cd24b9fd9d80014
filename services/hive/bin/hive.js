#!/usr/bin/env node
import '../dist/hive.bundle.mjs';
