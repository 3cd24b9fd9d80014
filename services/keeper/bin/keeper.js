#!/usr/bin/env node
import '../dist/keeper.bundle.mjs';
