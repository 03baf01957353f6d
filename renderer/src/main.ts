/**
 * @file Entry point: mounts the app shell into index.html.
 */
import { mount } from 'svelte';
import App from './app.svelte';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');
mount(App, { target });
