/**
 * @file The application menu: the platform's usual roles (app menu on macOS, File, Edit,
 * View, Window, Help), built as a plain template so it is testable without Electron.
 */
import type { MenuItemConstructorOptions } from 'electron';

export interface MenuActions {
  /** Opens the project page or the local help. */
  openHelp?: () => void;
}

export function menuTemplate(platform: NodeJS.Platform, appName: string, actions: MenuActions = {}): MenuItemConstructorOptions[] {
  const mac = platform === 'darwin';
  const help: MenuItemConstructorOptions[] = [];
  if (actions.openHelp) help.push({ label: `${appName} Help`, click: () => actions.openHelp?.() });
  if (!mac) help.push({ role: 'about' });
  const template: MenuItemConstructorOptions[] = [
    ...(mac ? [{ role: 'appMenu' } as MenuItemConstructorOptions] : []),
    { role: 'fileMenu' },
    {
      role: 'editMenu',
      submenu: [
        // Not registered: Ctrl/Cmd+Z must reach the page, which undoes the last people operation
        // (or lets a focused text field undo its typing). The menu item still undoes text edits.
        { role: 'undo', registerAccelerator: false },
        { role: 'redo' },
        { type: 'separator' },
        { role: 'cut' },
        { role: 'copy' },
        { role: 'paste' },
        { role: 'selectAll' },
      ],
    },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
    { role: 'help', submenu: help },
  ];
  return template;
}
